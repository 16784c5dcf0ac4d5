/**
 * werift's data channel as the session's ControlChannel (text and binary messages, close).
 */
import type { RTCDataChannel } from 'werift';
import type { ControlChannel } from '../../../engine.js';

/** The data channel as the session sees it. */
export class WeriftControlChannel implements ControlChannel {
  onmessage: ((data: string | ArrayBuffer) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(private readonly ch: RTCDataChannel) {
    ch.onMessage.subscribe((data) => {
      if (typeof data === 'string') this.onmessage?.(data);
      else this.onmessage?.(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    });
    ch.stateChanged.subscribe((state) => {
      if (state === 'closed') this.onclose?.();
    });
  }

  get readyState(): ControlChannel['readyState'] {
    return this.ch.readyState;
  }

  get bufferedAmount(): number {
    return this.ch.bufferedAmount;
  }

  send(text: string): void {
    this.ch.send(text);
  }

  close(): void {
    this.ch.close();
  }
}
