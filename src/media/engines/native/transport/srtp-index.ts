/**
 * The SRTP packet index of a received packet (RFC 3711 §3.3.1): which rollover count (ROC) a
 * 16-bit sequence number belongs to. werift guessed a wrap only within 100 of 65535 and never
 * moved its state on a failed packet, so one jump of +30000 across the wrap made every later
 * packet fail authentication. This follows the RFC: the nearest of ROC-1, ROC and ROC+1, and the
 * state moves only after the packet authenticated.
 *
 * Pure: no clock, no I/O.
 */

/** What the receiver keeps per SSRC: the highest sequence number seen (s_l) and its ROC. */
export interface SrtpIndexState {
  roc: number;
  highestSeq: number;
  started: boolean;
}

const HALF = 0x8000;
const ROC_MAX = 0xffffffff;

/** A fresh state (the first packet sets it). */
export function newSrtpIndexState(): SrtpIndexState {
  return { roc: 0, highestSeq: 0, started: false };
}

/** The ROC to authenticate and decrypt packet `seq` with (the RFC's v). */
export function estimateRoc(state: SrtpIndexState, seq: number): number {
  if (!state.started) return state.roc;
  const sl = state.highestSeq;
  if (sl < HALF) {
    // a packet from before the last wrap, delivered late
    if (seq - sl > HALF) return state.roc === 0 ? 0 : state.roc - 1;
    return state.roc;
  }
  if (sl - HALF > seq) return state.roc === ROC_MAX ? 0 : state.roc + 1;
  return state.roc;
}

/** Record an authenticated packet: `roc` is what estimateRoc gave for it. */
export function commitIndex(state: SrtpIndexState, seq: number, roc: number): void {
  if (!state.started) {
    state.started = true;
    state.roc = roc;
    state.highestSeq = seq;
    return;
  }
  if (roc === (state.roc + 1) % (ROC_MAX + 1)) {
    state.roc = roc;
    state.highestSeq = seq;
  } else if (roc === state.roc && seq > state.highestSeq) {
    state.highestSeq = seq;
  }
}
