/**
 * The session's control data channel: parses the client's messages (set, ping, stats), answers
 * them, and pushes stats. Messages are JSON text under 4 kB; anything else gets an error message,
 * never an exception.
 */
import type { ControlChannel } from './engine.js';

/** Longest control message accepted. */
export const MAX_CONTROL_MESSAGE_CHARS = 4096;
/** Skip sends while this much is queued: stats are periodic, a missed one is harmless. */
const MAX_BUFFERED_BYTES = 256 * 1024;


/** What the control channel asks of its session. */
export interface ControlHandlers<Info> {
  /** Apply settings and return the new info; throws a coded error on a bad value. */
  update(settings: { filter: unknown; iterations: unknown; backend: unknown }): Info;
  info(): Info;
  /** Map an error from update() to its API code. */
  errorCode(err: unknown): string;
  onClose(): void;
}

/** One session's control channel. */
export class SessionControl<Info> {
  private channel: ControlChannel | null = null;

  constructor(private readonly handlers: ControlHandlers<Info>) {}

  /** Take the client's channel (the first one only). */
  attach(channel: ControlChannel): void {
    if (this.channel) return;
    this.channel = channel;
    channel.onmessage = (data) => this.onMessage(data);
    channel.onclose = () => this.handlers.onClose();
  }

  /** Send a message when the channel is open and not backed up. */
  send(msg: unknown): void {
    const ch = this.channel;
    if (!ch || ch.readyState !== 'open' || ch.bufferedAmount > MAX_BUFFERED_BYTES) return;
    try { ch.send(JSON.stringify(msg)); } catch { /* closing */ }
  }

  /** Tell the client about an error that was not a reply to a request. */
  sendError(code: string, message: string): void {
    this.send({ type: 'error', error: { code, message } });
  }

  /** Detach and close the channel. */
  close(): void {
    const ch = this.channel;
    if (!ch) return;
    ch.onclose = null;
    ch.onmessage = null;
    try { ch.close(); } catch { /* already closed */ }
  }

  private onMessage(data: string | ArrayBuffer): void {
    if (typeof data !== 'string' || data.length > MAX_CONTROL_MESSAGE_CHARS) {
      return this.sendError('INVALID_PARAMETER', 'messages must be JSON text under 4 kB');
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return this.sendError('INVALID_JSON', 'message is not valid JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.sendError('INVALID_PARAMETER', 'message must be a JSON object');
    }
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case 'set':
        try {
          this.send({ type: 'ack', session: this.handlers.update({ filter: m.filter, iterations: m.iterations, backend: m.backend }) });
        } catch (err) {
          this.sendError(this.handlers.errorCode(err), err instanceof Error ? err.message : String(err));
        }
        return;
      case 'ping':
        this.send({ type: 'pong', t: m.t });
        return;
      case 'stats':
        this.send({ type: 'stats', session: this.handlers.info() });
        return;
      default:
        this.sendError('INVALID_PARAMETER', `unknown message type ${JSON.stringify(m.type)}`);
    }
  }
}
