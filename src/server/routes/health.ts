/** Liveness, readiness, backends and metrics: the routes operators and probes read. */
import type { FastifyInstance } from 'fastify';
import type { BackendsResponse, HealthResponse } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { errorBody } from '../errors.js';

/** Register /healthz, /readyz and /backends. */
export function registerHealthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/healthz', async (): Promise<HealthResponse> => {
    const backend = ctx.registry.defaultBackend;
    return {
      status: 'ok',
      backend,
      device: ctx.registry.get(backend).device,
      mediaEngine: ctx.engine.name,
      sessions: ctx.sessions.count,
      maxSessions: ctx.config.maxSessions,
      capacity: ctx.sessions.capacity(),
      draining: ctx.sessions.isDraining,
    };
  });

  app.get('/readyz', async (_req, reply) => {
    if (ctx.sessions.isDraining) {
      return reply.code(503).send(errorBody('DRAINING', 'the server is draining before shutdown'));
    }
    return { ready: true };
  });

  app.get('/backends', async (): Promise<BackendsResponse> => ({
    default: ctx.registry.defaultBackend,
    requested: ctx.registry.requested,
    backends: ctx.registry.list(),
    media: { engine: ctx.engine.name, codecs: [...ctx.engine.codecs] },
  }));
}

/** Register /metrics (on the main app, or on the separate metrics port). */
export function registerMetricsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/metrics', async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });
}
