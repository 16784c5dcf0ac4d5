/**
 * A tiny signaling server that answers the project's RtcClient (POST /offer) with any MediaEngine
 * directly and echoes every decoded frame back (no session layer, no processing), so the native
 * engine is tested end to end before and independently of the session seam. The data channel
 * answers each text message with {"echo": <text>}. Bare WHIP and WHEP too, for the test clients
 * of test/support/whip-client.ts: POST /whip (201, Location /whip/sessions/<n>), POST /whep/<n>
 * (a viewer of peer n, Location /whep/viewers/<m>), DELETE on either closes that peer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlChannel, MediaEngine, MediaPeer, PeerConnectionState } from '../../src/media/engine.js';

export interface EchoHarness {
  url: string;
  peers: MediaPeer[];
  /** WHEP viewers' peers, in order; a DELETEd one stays listed (closed). */
  viewers: MediaPeer[];
  answers: string[];
  states: PeerConnectionState[];
  channelMessages: string[];
  stop(): Promise<void>;
}

/** Start the harness on a free loopback port. */
/** GET / serves this page (a browser client needs a secure-context origin: http://127.0.0.1 is one). */
const PAGE = '<!doctype html><meta charset="utf-8"><title>native engine harness</title><video id="v" autoplay muted playsinline></video>';

export async function startEchoHarness(engine: MediaEngine): Promise<EchoHarness> {
  const peers: MediaPeer[] = [];
  const viewers: MediaPeer[] = [];
  const answers: string[] = [];
  const states: PeerConnectionState[] = [];
  const channelMessages: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (req.url?.startsWith('/whip') || req.url?.startsWith('/whep')) {
      whipOrWhep(req, res);
      return;
    }
    if (req.method !== 'POST' || req.url !== '/offer') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'POST /offer' } }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sdp: string };
          let peer: MediaPeer | null = null;
          const answered = await engine.answer(body.sdp, { iceServers: [], iceGatheringTimeoutMs: 3000 }, {
            onFrame: (f) => peer?.sendFrame(f),
            onChannel: (ch: ControlChannel) => {
              ch.onmessage = (data) => {
                if (typeof data !== 'string') return;
                channelMessages.push(data);
                ch.send(JSON.stringify({ echo: data }));
              };
            },
            onConnectionState: (s) => states.push(s),
          });
          peer = answered.peer;
          peers.push(peer);
          answers.push(answered.sdp);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sdp: answered.sdp, type: 'answer', sessionId: String(peers.length) }));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'negotiation_failed', message: (err as Error).message } }));
        }
      })();
    });
  });
  const options = { iceServers: [], iceGatheringTimeoutMs: 3000 };
  const readSdp = (req: IncomingMessage): Promise<string> => new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  const created = (res: ServerResponse, location: string, sdp: string): void => {
    res.writeHead(201, { 'content-type': 'application/sdp', location, etag: '"harness"' }).end(sdp);
  };
  function whipOrWhep(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const deleted = /^\/(whip\/sessions|whep\/viewers)\/(\d+)$/.exec(url);
    if (req.method === 'DELETE' && deleted) {
      const list = deleted[1] === 'whip/sessions' ? peers : viewers;
      list[Number(deleted[2]) - 1]?.close();
      res.writeHead(200).end();
      return;
    }
    const whep = /^\/whep\/(\d+)$/.exec(url);
    if (req.method !== 'POST' || (url !== '/whip' && !whep)) {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        const sdp = await readSdp(req);
        if (whep) {
          const publisher = peers[Number(whep[1]) - 1];
          if (!publisher) throw new Error('no such session');
          const answered = await engine.answerViewer(sdp, options, publisher, { onConnectionState: (s) => states.push(s) });
          viewers.push(answered.peer);
          created(res, `/whep/viewers/${viewers.length}`, answered.sdp);
          return;
        }
        let peer: MediaPeer | null = null;
        const answered = await engine.answer(sdp, options, {
          onFrame: (f) => peer?.sendFrame(f),
          onChannel: () => undefined,
          onConnectionState: (s) => states.push(s),
        });
        peer = answered.peer;
        peers.push(peer);
        answers.push(answered.sdp);
        created(res, `/whip/sessions/${peers.length}`, answered.sdp);
      } catch (err) {
        res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unanswerable', message: (err as Error).message } }));
      }
    })();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, peers, viewers, answers, states, channelMessages,
    async stop() {
      for (const p of [...viewers, ...peers]) p.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
