/**
 * One loopback connection at start-up, so a server's first client does not pay for werift's cold
 * paths (module loading, key generation, JIT).
 */
import type { SelectedCodec } from '../stack-types.js';
import { DEFAULT_RETRANSMIT_BUDGET } from './retransmit-budget.js';
import type { TransportEvents } from './transport-types.js';
import { answerOffer } from './werift-answerer.js';
import { makeOffer } from './werift-offerer.js';

/**
 * Connect two werift transports to each other on loopback once (offer, answer, ICE, DTLS both
 * roles, SRTP, the data channel) and close them. Resolves within `timeoutMs` whatever happens;
 * never throws.
 */
export async function warmUpWerift(codec: SelectedCodec, timeoutMs = 3000): Promise<void> {
  const noop = (): void => undefined;
  const events: TransportEvents = {
    onRtp: noop, onKeyframeRequest: noop, onRemb: noop, onReceiverReport: noop, onTransportFeedback: noop,
    onChannel: noop, onConnectionState: noop, onStreamRestart: noop,
  };
  // the offer's close() also closes the client transport once the answer is accepted
  const opened: Array<{ close(): void }> = [];
  const work = (async () => {
    const offered = await makeOffer({ iceServers: [], iceGatheringTimeoutMs: 1000, additionalHostAddresses: ['127.0.0.1'], transportCc: true }, events);
    opened.push(offered);
    let connected: () => void = noop;
    const up = new Promise<void>((resolve) => { connected = resolve; });
    const server = await answerOffer(offered.sdp, {
      iceServers: [], iceGatheringTimeoutMs: 1000, codec, additionalHostAddresses: ['127.0.0.1'], transportCc: true, sendImpairment: null,
      retransmitBudget: DEFAULT_RETRANSMIT_BUDGET,
    }, { ...events, onConnectionState: (st) => { if (st === 'connected') connected(); } });
    opened.push(server.transport);
    await offered.accept(server.sdp);
    await up;
  })().catch(noop);
  await Promise.race([work, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  for (const o of opened) o.close();
}
