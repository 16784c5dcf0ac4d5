/**
 * The session's control data channel: decodes the client's messages with the protocol's decoder
 * (set, ping, stats), answers them, and pushes stats. Anything the decoder refuses gets an error
 * message with its code, never an exception.
 */
import { decodeClientMessage, encodeMessage, type ErrorCode, type ServerMessage, type SessionInfo } from '../protocol/index.js';
import type { ControlChannel } from './engine.js';

/** Skip sends while this much is queued: stats are periodic, a missed one is harmless. */
const MAX_BUFFERED_BYTES = 256 * 1024;


/** What the control channel asks of its session. */
export interface ControlHandlers {
  /** Apply settings and return the new info; throws a coded error on a bad value. */
  update(settings: { filter: unknown; iterations: unknown; style: unknown; backend: unknown }): SessionInfo;
  info(): SessionInfo;
  /** Map an error from update() to its API code. */
  errorCode(err: unknown): ErrorCode;
  onClose(): void;
}

/** One session's control channel. */
export class SessionControl {
  private channel: ControlChannel | null = null;

  constructor(private readonly handlers: ControlHandlers) {}

  /** Take the client's channel (the first one only). */
  attach(channel: ControlChannel): void {
    if (this.channel) return;
    this.channel = channel;
    channel.onmessage = (data) => this.onMessage(data);
    channel.onclose = () => this.handlers.onClose();
  }

  /** Send a message when the channel is open and not backed up. */
  send(msg: ServerMessage): void {
    const ch = this.channel;
    if (!ch || ch.readyState !== 'open' || ch.bufferedAmount > MAX_BUFFERED_BYTES) return;
    try { ch.send(encodeMessage(msg)); } catch { /* closing */ }
  }

  /** Tell the client about an error that was not a reply to a request. */
  sendError(code: ErrorCode, message: string): void {
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
    const decoded = decodeClientMessage(data);
    if (!decoded.ok) return this.sendError(decoded.error.code, decoded.error.message);
    const m = decoded.message;
    switch (m.type) {
      case 'set':
        try {
          this.send({ type: 'ack', session: this.handlers.update({ filter: m.filter, iterations: m.iterations, style: m.style, backend: m.backend }) });
        } catch (err) {
          this.sendError(this.handlers.errorCode(err), err instanceof Error ? err.message : String(err));
        }
        return;
      case 'ping':
        this.send({ type: 'pong', t: m.t });
        return;
      case 'stats':
        this.send({ type: 'stats', session: this.handlers.info() });
    }
  }
}
