/**
 * Several replicas behind a load balancer without stickiness: a request about a session (or WHEP
 * viewer) that another replica holds is forwarded to that replica, one hop. The owner is read out
 * of the id itself (src/cluster/session-ids.ts), which no client can forge, so a request is only
 * ever sent to an address a replica put into an id. The caller's headers (its Authorization
 * included: the owner checks it again) and body are streamed to the owner, and the owner's
 * status, headers and body streamed back. A forwarded request carries a signed hop header; a
 * request with any hop header is never forwarded again. Only signalling is forwarded: media flows
 * between the client and the owner, whose answer names its own ICE candidates.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import http from 'node:http';
import type { ClusterIds, ReplicaAddress } from '../cluster/session-ids.js';
import type { ClusterConfig } from './config.js';
import { ApiError } from './errors.js';
import type { Metrics } from './metrics.js';

/** The hop header: `<unix ms>.<tag>`, signed with the cluster secret by the forwarding replica. */
export const HOP_HEADER = 'x-rtc-forwarded';

/** The session-scoped routes, by route URL: which path parameter holds the id, and the methods forwarded. */
const SESSION_ROUTES = new Map<string, { param: string; methods: ReadonlySet<string> }>([
  ['/sessions/:id', { param: 'id', methods: new Set(['GET', 'PATCH', 'DELETE']) }],
  ['/whip/sessions/:id', { param: 'id', methods: new Set(['PATCH', 'DELETE']) }],
  ['/whep/:sessionId', { param: 'sessionId', methods: new Set(['POST']) }],
  ['/whep/viewers/:id', { param: 'id', methods: new Set(['PATCH', 'DELETE']) }],
]);

/** Connection-level headers, never passed on (RFC 9110 §7.6.1), and the hop header a client may have sent. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', HOP_HEADER,
]);

/** Errors that mean nobody took the connection at the owner's address: the owner is gone. */
const GONE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT', 'CONNECT_TIMEOUT']);

class ConnectTimeoutError extends Error {
  readonly code = 'CONNECT_TIMEOUT';
}

/** Forwards requests about other replicas' sessions; one per app. */
export class Forwarder {
  private inFlight = 0;
  /**
   * A new connection per forward (a few per session, inside the cluster network): a connection
   * error then always means the owner, not a stale kept-alive socket, so it answers 404 or 502
   * without guessing. In-flight forwards are bounded by `maxForwards`, so the agent's queue is too.
   */
  private readonly agent = new http.Agent({ keepAlive: false });
  private readonly received = new WeakSet<FastifyRequest>();

  constructor(private readonly ids: ClusterIds, private readonly settings: ClusterConfig, private readonly metrics: Metrics) {}

  /**
   * Check the hop header of `req` (onRequest): a valid one marks the request as forwarded by a
   * replica (not rate-limited again, counted). Returns whether it was valid.
   */
  checkHop(req: FastifyRequest): boolean {
    if (this.received.has(req)) return true;
    const value = req.headers[HOP_HEADER];
    if (typeof value !== 'string' || !this.ids.verifyHop(value, req.method, req.url)) return false;
    this.received.add(req);
    this.metrics.clusterForwardsReceived.inc();
    return true;
  }

  /** The owner to forward `req` to, or null when this replica answers it itself. */
  private targetOf(req: FastifyRequest): ReplicaAddress | null {
    const route = SESSION_ROUTES.get(req.routeOptions.url ?? '');
    if (!route || !route.methods.has(req.method)) return null;
    // Never a second hop: whatever reached this replica as a forward is answered here.
    if (req.headers[HOP_HEADER] !== undefined) return null;
    const id = (req.params as Record<string, string | undefined>)[route.param];
    if (id === undefined) return null;
    const owner = this.ids.ownerOf(id);
    // Not a valid id (forged, tampered, another cluster's): answered here, as unknown.
    if (owner === null || this.ids.isSelf(owner)) return null;
    return owner;
  }

  /** preParsing hook (after authentication): forward `req` when another replica owns its session; else let it through. */
  async hook(req: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream | FastifyReply> {
    const owner = this.targetOf(req);
    if (owner === null) return payload;
    if (this.inFlight >= this.settings.maxForwards) {
      this.metrics.clusterForwards.inc({ outcome: 'busy' });
      throw new ApiError('SERVER_BUSY', `more than ${this.settings.maxForwards} requests are being forwarded to other replicas (RTC_CLUSTER_MAX_FORWARDS)`, { retryAfterS: 1 });
    }
    this.inFlight++;
    let upstream: http.IncomingMessage;
    try {
      upstream = await this.send(req, payload, owner, reply.raw);
    } catch (err) {
      this.inFlight--;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (GONE_CODES.has(code) || err instanceof ConnectTimeoutError) {
        this.metrics.clusterForwards.inc({ outcome: 'owner_gone' });
        throw new ApiError('SESSION_NOT_FOUND', 'no live session with that id: the replica that held it is gone');
      }
      this.metrics.clusterForwards.inc({ outcome: 'failed' });
      req.log.warn({ owner: owner.url, err: err instanceof Error ? err.message : String(err) }, 'forward failed');
      throw new ApiError('OWNER_UNREACHABLE', 'the replica that holds this session did not answer');
    }
    this.metrics.clusterForwards.inc({ outcome: 'answered' });
    // From here the answer is the owner's, streamed as it comes (fastify's reply pipeline is bypassed).
    reply.hijack();
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(upstream.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    const res = reply.raw;
    // The place is released once, when the caller's response ends either way.
    if (res.destroyed) {
      upstream.destroy();
      this.inFlight--;
      return reply;
    }
    res.once('close', () => {
      if (!upstream.complete) upstream.destroy();
      this.inFlight--;
    });
    res.writeHead(upstream.statusCode ?? 502, headers);
    // An owner that sent its headers and then stalls does not hold the caller for ever.
    upstream.setTimeout(this.settings.forwardTimeoutS * 1000, () => upstream.destroy(new Error('the owner stalled mid-answer')));
    upstream.once('error', () => res.destroy());
    upstream.pipe(res);
    return reply;
  }

  /** Send `req` with its body to `owner`; resolves with the owner's response once its headers arrived (rejects if the caller goes away first). */
  private send(req: FastifyRequest, body: NodeJS.ReadableStream, owner: ReplicaAddress, caller: http.ServerResponse): Promise<http.IncomingMessage> {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    headers.host = `${owner.host}:${owner.port}`;
    headers[HOP_HEADER] = this.ids.signHop(req.method, req.url);
    return new Promise((resolve, reject) => {
      const out = http.request({
        agent: this.agent, host: owner.host.replace(/^\[|\]$/g, ''), port: owner.port, method: req.method, path: req.url, headers,
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const answerTimer = setTimeout(() => out.destroy(new Error(`no answer within ${this.settings.forwardTimeoutS} s`)),
        this.settings.forwardTimeoutS * 1000);
      out.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => out.destroy(new ConnectTimeoutError(`no connection within ${this.settings.connectTimeoutMs} ms`)),
          this.settings.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      const callerGone = (): void => {
        out.destroy(new Error('the caller went away'));
      };
      caller.once('close', callerGone);
      out.once('response', (res) => {
        clearTimeout(connectTimer);
        clearTimeout(answerTimer);
        caller.off('close', callerGone);
        resolve(res);
      });
      out.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        clearTimeout(answerTimer);
        caller.off('close', callerGone);
        reject(err);
      });
      body.pipe(out);
    });
  }

  /** Drop the connections of forwards still in flight (at shutdown). */
  close(): void {
    this.agent.destroy();
  }
}
