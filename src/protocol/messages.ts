/**
 * The messages of the "control" data channel: JSON text, one object per message, with a `type`.
 * Client → server: set, ping, stats. Server → client: ack, pong, stats, error.
 * Each side validates what it receives with the decoder here and never trusts a field unchecked.
 */
import { parseErrorBody, type ErrorCode, type ErrorDetail } from './errors.js';
import { badStyleMessage, isAnonymizeStyle, isBackendChoice, isFilterName, MAX_ITERATIONS, type AnonymizeStyle, type BackendChoice, type FilterName } from './names.js';
import { parseSessionInfo, SessionInfoError, type SessionInfo } from './session-info.js';

/** Longest message either side accepts, in UTF-16 code units of the JSON text. */
export const MAX_MESSAGE_CHARS = 4096;

/**
 * Change filter, iterations, style or backend; fields left out keep their value (a new filter
 * resets iterations to 1; the style is kept).
 */
export interface SetMessage {
  type: 'set';
  filter?: FilterName;
  iterations?: number;
  /** How `anonymize` hides faces. */
  style?: AnonymizeStyle;
  backend?: BackendChoice;
}

/** Ask for a pong carrying `t` back, to measure the data channel's round trip. */
export interface PingMessage {
  type: 'ping';
  /** The sender's clock, echoed unchanged. */
  t: number;
}

/** Ask for a `stats` message now (the server also sends one every second while live). */
export interface StatsRequestMessage {
  type: 'stats';
}

/** What a client sends. */
export type ClientMessage = SetMessage | PingMessage | StatsRequestMessage;

/** The session after a `set` was applied. */
export interface AckMessage {
  type: 'ack';
  session: SessionInfo;
}

export interface PongMessage {
  type: 'pong';
  t: number;
}

/** The session's current figures: every second while live, and on request. */
export interface StatsMessage {
  type: 'stats';
  session: SessionInfo;
}

/** A message that was refused, and why; the session carries on unchanged. */
export interface ErrorMessage {
  type: 'error';
  error: ErrorDetail;
}

/** What a server sends. */
export type ServerMessage = AckMessage | PongMessage | StatsMessage | ErrorMessage;

/** A decoded message, or the coded error to answer with. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; error: { code: ErrorCode; message: string } };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail<T>(code: ErrorCode, message: string): Decoded<T> {
  return { ok: false, error: { code, message } };
}

/** The JSON text of a message, as it goes on the channel. */
export function encodeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

/** Text of at most MAX_MESSAGE_CHARS parsed as a JSON object, or the error to answer with. */
function decodeObject(data: unknown): Decoded<Record<string, unknown>> {
  if (typeof data !== 'string' || data.length > MAX_MESSAGE_CHARS) {
    return fail('INVALID_PARAMETER', 'messages must be JSON text under 4 kB');
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return fail('INVALID_JSON', 'message is not valid JSON');
  }
  if (!isRecord(value)) return fail('INVALID_PARAMETER', 'message must be a JSON object');
  return { ok: true, message: value };
}

/** An iteration count as a client may send it: an integer, or its decimal text. */
function iterationsOf(v: unknown): number | null {
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_ITERATIONS ? n : null;
}

/**
 * Validate a parsed value into a ClientMessage. Codes: UNKNOWN_FILTER for a filter name that does
 * not exist, INVALID_PARAMETER for everything else. Whether a backend is available is the
 * server's to check (BACKEND_UNAVAILABLE); this only checks that it is a backend name.
 */
export function parseClientMessage(value: unknown): Decoded<ClientMessage> {
  if (!isRecord(value)) return fail('INVALID_PARAMETER', 'message must be a JSON object');
  switch (value.type) {
    case 'set': {
      const msg: SetMessage = { type: 'set' };
      if (value.filter !== undefined) {
        if (!isFilterName(value.filter)) return fail('UNKNOWN_FILTER', `unknown filter ${JSON.stringify(value.filter)}`);
        msg.filter = value.filter;
      }
      if (value.iterations !== undefined) {
        const n = iterationsOf(value.iterations);
        if (n === null) {
          return fail('INVALID_PARAMETER', `iterations must be an integer from 1 to ${MAX_ITERATIONS}, got ${JSON.stringify(value.iterations)}`);
        }
        msg.iterations = n;
      }
      if (value.style !== undefined) {
        if (!isAnonymizeStyle(value.style)) return fail('INVALID_PARAMETER', badStyleMessage(value.style));
        msg.style = value.style;
      }
      if (value.backend !== undefined) {
        if (!isBackendChoice(value.backend)) {
          return fail('INVALID_PARAMETER', `backend must be one of auto, cpu, gpu; got ${JSON.stringify(value.backend)}`);
        }
        msg.backend = value.backend;
      }
      return { ok: true, message: msg };
    }
    case 'ping':
      if (typeof value.t !== 'number' || !Number.isFinite(value.t)) return fail('INVALID_PARAMETER', 'ping needs a number t');
      return { ok: true, message: { type: 'ping', t: value.t } };
    case 'stats':
      return { ok: true, message: { type: 'stats' } };
    default:
      return fail('INVALID_PARAMETER', `unknown message type ${JSON.stringify(value.type)}`);
  }
}

/** Validate a parsed value into a ServerMessage (a bad `session` object fails the whole message). */
export function parseServerMessage(value: unknown): Decoded<ServerMessage> {
  if (!isRecord(value)) return fail('INVALID_PARAMETER', 'message must be a JSON object');
  switch (value.type) {
    case 'ack':
    case 'stats': {
      let session: SessionInfo;
      try {
        session = parseSessionInfo(value.session);
      } catch (err) {
        if (err instanceof SessionInfoError) return fail('INVALID_PARAMETER', `${value.type}: ${err.message}`);
        throw err;
      }
      return { ok: true, message: value.type === 'ack' ? { type: 'ack', session } : { type: 'stats', session } };
    }
    case 'pong':
      if (typeof value.t !== 'number' || !Number.isFinite(value.t)) return fail('INVALID_PARAMETER', 'pong needs a number t');
      return { ok: true, message: { type: 'pong', t: value.t } };
    case 'error': {
      const detail = parseErrorBody(value);
      if (!detail) return fail('INVALID_PARAMETER', 'error needs { code, message }');
      return { ok: true, message: { type: 'error', error: detail } };
    }
    default:
      return fail('INVALID_PARAMETER', `unknown message type ${JSON.stringify(value.type)}`);
  }
}

/** Decode what arrived on the channel (server side): text → JSON → ClientMessage. */
export function decodeClientMessage(data: unknown): Decoded<ClientMessage> {
  const obj = decodeObject(data);
  return obj.ok ? parseClientMessage(obj.message) : obj;
}

/** Decode what arrived on the channel (client side): text → JSON → ServerMessage. */
export function decodeServerMessage(data: unknown): Decoded<ServerMessage> {
  const obj = decodeObject(data);
  return obj.ok ? parseServerMessage(obj.message) : obj;
}
