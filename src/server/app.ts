/**
 * The HTTP application: fastify with every route, JSON errors for every failure, and the web
 * page. Built from a ServerContext so tests can assemble servers in-process.
 */
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Authenticator } from './auth.js';
import { SessionOwners, setIdentity } from './ownership.js';
import type { ServerContext } from './context.js';
import { apiErrorFor } from './domain-errors.js';
import { ApiError, errorBody, type ErrorCode } from './errors.js';
import { registerHealthRoutes, registerMetricsRoute } from './routes/health.js';
import { registerProcessRoutes } from './routes/process.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerWhepRoutes } from './routes/whep.js';
import { registerWhipRoutes } from './routes/whip.js';
import { registerSdpBodyParsers } from './whip-http.js';
import { Forwarder } from './forwarding.js';

/** dist/web, built from src/web by scripts/build.mjs (this file runs from dist/src/server). */
const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/** Routes that cost CPU/GPU time or hand out credentials: token-protected and rate-limited. */
const PROTECTED_ROUTES = new Set([
  '/offer', '/process', '/sessions', '/sessions/:id', '/ice-servers',
  // WHIP/WHEP endpoints and their resources: RFC 9725 §4.5 bearer tokens, the same tokens.
  '/whip', '/whip/:filter', '/whip/sessions/:id', '/whep/:sessionId', '/whep/viewers/:id',
]);

/** WHIP/WHEP routes, whose OPTIONS answers (also CORS preflights) name the body they take. */
const ACCEPT_POST_ROUTES = new Set(['/whip', '/whip/:filter', '/whep/:sessionId']);
const ACCEPT_PATCH_ROUTES = new Set(['/whip/sessions/:id', '/whep/viewers/:id']);

function isProtected(routeUrl: string | undefined): boolean {
  return routeUrl !== undefined && PROTECTED_ROUTES.has(routeUrl);
}

/** Headers that keep the page and the API from being framed, sniffed or leaking referrers. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(self), microphone=(), geolocation=()',
  'cross-origin-opener-policy': 'same-origin',
};

/** Map fastify's own errors (body parsing, limits) onto the API's codes. */
function codeOf(err: FastifyError): ErrorCode {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'BODY_TOO_LARGE';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'INVALID_JSON';
    default:
      if (err instanceof SyntaxError) return 'INVALID_JSON';
      return (err.statusCode ?? 500) < 500 ? 'INVALID_PARAMETER' : 'INTERNAL';
  }
}

/**
 * Answer an HTTP framing error (a malformed request, headers over the limit, a request that
 * took longer than RTC_REQUEST_TIMEOUT_S) in the API's error shape, then drop the connection:
 * fastify's default answers {error, message, statusCode}.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, ErrorCode, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time (RTC_REQUEST_TIMEOUT_S)']
      : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts']
        : [400, 'MALFORMED_REQUEST', 'the request is not valid HTTP/1.1'];
  if (socket.writable) {
    const body = JSON.stringify(errorBody(code, message));
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Build the fastify app for a context (not yet listening). */
export async function createApp(ctx: ServerContext, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024 * 1024,
    // Sessions last minutes; keep-alive sockets must not hold shutdown for long.
    forceCloseConnections: 'idle',
    // Longer than the load balancer in front keeps its connections to us (Google's: 600 s), so
    // the balancer always closes first and never sends a request on a socket we are closing (a 502).
    keepAliveTimeout: ctx.config.keepAliveTimeoutS * 1000,
    // Probes, scrapes and load tests would drown the log; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // A client gets this long to send a whole request; a body that stalls one byte short no
    // longer holds its buffered bytes for ever. Node checks its timers every
    // connectionsCheckingInterval; headers get the shorter of 10 s and the request timeout.
    requestTimeout: ctx.config.requestTimeoutS * 1000,
    http: {
      connectionsCheckingInterval: 1000,
      headersTimeout: Math.min(10_000, ctx.config.requestTimeoutS * 1000),
      requestTimeout: ctx.config.requestTimeoutS * 1000,
    },
    clientErrorHandler,
    // Errors the router raises before any route runs (a malformed %-escape, a path parameter
    // over 100 characters) bypass setErrorHandler; without this they answer fastify's own
    // {error,code,message} shape, and a 414 the API does not define. Found by test/fuzz.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      const what = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 100 characters' : 'the URL is malformed';
      void reply.code(400).send(errorBody('INVALID_PARAMETER', what));
    },
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const api = apiErrorFor(err);
    if (api) {
      if (api.retryAfterS !== undefined) reply.header('Retry-After', String(api.retryAfterS));
      return reply.code(api.statusCode).send(errorBody(api.code, api.message));
    }
    const code = codeOf(err);
    const status = code === 'INTERNAL' ? 500 : (err.statusCode ?? 400);
    if (status >= 500) req.log.error({ err }, 'request failed');
    const message = status >= 500 ? 'internal error' : err.message;
    return reply.code(status).send(errorBody(code, message));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  app.addHook('onSend', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    // The CORS plugin answers preflights itself; RFC 9725 §4.2 wants Accept-Post on every OPTIONS 200.
    if (req.method === 'OPTIONS') {
      const url = req.routeOptions.url ?? '';
      if (ACCEPT_POST_ROUTES.has(url)) reply.header('accept-post', 'application/sdp');
      if (ACCEPT_PATCH_ROUTES.has(url)) reply.header('accept-patch', 'application/trickle-ice-sdpfrag');
    }
  });

  if (ctx.config.corsOrigins.length > 0) {
    const any = ctx.config.corsOrigins.includes('*');
    await app.register(fastifyCors, {
      origin: any ? true : ctx.config.corsOrigins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'if-match'],
      // A browser WHIP/WHEP client reads the resource, its ICE session tag and the ICE servers.
      exposedHeaders: ['server-timing', 'x-rtc-backend', 'retry-after', 'location', 'etag', 'link', 'accept-post', 'accept-patch'],
      // RFC 9725 §4.2: OPTIONS answers 200, also a plain one (WHIP clients probe without
      // Access-Control-Request-Method, which a strict preflight check would answer 400).
      optionsSuccessStatus: 200,
      strictPreflight: false,
    });
  }

  // preParsing, not onRequest: the rate limiter runs in onRequest, and failed logins must count
  // against it (700 wrong tokens in 0.6 s all got 403, none 429). Still before any body is read.
  const auth = new Authenticator(ctx.config);
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.method !== 'OPTIONS' && isProtected(req.routeOptions.url)) setIdentity(req, await auth.check(req.headers.authorization));
    return payload;
  });
  // Several replicas: after authentication (a request without valid credentials goes nowhere),
  // before the body is read (it is streamed to the owner), requests about another replica's
  // session are forwarded there. A forward arriving here is not rate-limited again.
  const forwarder = ctx.cluster && ctx.config.cluster ? new Forwarder(ctx.cluster, ctx.config.cluster, ctx.metrics) : null;
  if (forwarder) {
    app.addHook('onRequest', async (req) => {
      forwarder.checkHop(req);
    });
    app.addHook('preParsing', (req, reply, payload) => forwarder.hook(req, reply, payload));
    app.addHook('onClose', async () => forwarder.close());
  }

  if (ctx.config.rateLimitPerMin > 0) {
    await app.register(fastifyRateLimit, {
      global: true,
      max: ctx.config.rateLimitPerMin,
      timeWindow: 60_000,
      // A bounded LRU of client keys: an address flood cannot grow memory without limit.
      cache: 10_000,
      allowList: (req) => !isProtected(req.routeOptions.url) || (forwarder?.checkHop(req) ?? false),
      errorResponseBuilder: (_req, c) => new ApiError('TOO_MANY_REQUESTS',
        `rate limit of ${c.max} requests a minute exceeded; retry in ${c.after}`, { retryAfterS: Math.max(1, Math.ceil(c.ttl / 1000)) }),
    });
  }

  registerHealthRoutes(app, ctx);
  if (ctx.config.metricsPort === 0) registerMetricsRoute(app, ctx);
  registerProcessRoutes(app, ctx);
  // One owner table for sessions (from /offer or WHIP) and WHEP viewers: both are live resources of one identity.
  const owners = new SessionOwners((id) => ctx.sessions.get(id) !== undefined || ctx.sessions.getViewer(id) !== undefined);
  registerSessionRoutes(app, ctx, owners);
  registerSdpBodyParsers(app);
  registerWhipRoutes(app, ctx, owners);
  registerWhepRoutes(app, ctx, owners);

  app.get('/', (_req, reply) => reply.redirect('/app/'));
  app.get('/app', (_req, reply) => reply.redirect('/app/'));
  if (existsSync(WEB_ROOT)) {
    await app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/app/', index: ['index.html'] });
  } else {
    app.get('/app/', (_req, reply) =>
      reply.code(404).send(errorBody('NOT_FOUND', 'the web page is not built: run npm run build')));
  }
  return app;
}
