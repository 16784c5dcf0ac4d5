/**
 * WebRTC signalling (POST /offer, aiortc-compatible JSON) and session management
 * (GET/PATCH/DELETE /sessions, which also lists WHEP viewers), plus the ICE servers a client should use.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AdmissionError, NegotiationError } from '../../media/session-manager.js';
import { SessionSettingsError } from '../../media/session.js';
import { InvalidSdpError } from '../../media/sdp.js';
import { BackendUnavailableError } from '../../processing/backend-registry.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { asParams, backendParam, filterParam } from '../params.js';

/** Seconds a refused client should wait before offering again. */
const RETRY_AFTER_S = 5;

/** Register /offer, /sessions, /ice-servers. */
export function registerSessionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/offer', { bodyLimit: 256 * 1024 }, async (req) => {
    const body = asParams(req.body, 'the request body');
    if (body.type !== 'offer') throw new ApiError('INVALID_SDP', `type must be "offer", got ${JSON.stringify(body.type)}`);
    const filter = filterParam(body, 'none', 1);
    const backend = backendParam(body);
    if (backend !== 'auto') {
      try {
        ctx.registry.get(backend);
      } catch (err) {
        if (err instanceof BackendUnavailableError) throw new ApiError('BACKEND_UNAVAILABLE', err.message);
        throw err;
      }
    }
    try {
      const answer = await ctx.sessions.accept({ sdp: body.sdp, filter, backend });
      return { ...answer, iceServers: ctx.iceServersFor(answer.sessionId) };
    } catch (err) {
      if (err instanceof InvalidSdpError || err instanceof NegotiationError) throw new ApiError('INVALID_SDP', err.message);
      if (err instanceof AdmissionError) {
        const code = err.reason === 'draining' ? 'DRAINING' : err.reason === 'capacity' ? 'AT_CAPACITY' : 'SERVER_BUSY';
        throw new ApiError(code, err.message, { retryAfterS: RETRY_AFTER_S });
      }
      throw err;
    }
  });

  app.get('/ice-servers', async () => ({ iceServers: ctx.iceServersFor(randomUUID()) }));

  app.get('/sessions', async () => {
    await ctx.sessions.refreshStats();
    return { sessions: ctx.sessions.list(), viewers: ctx.sessions.listViewers() };
  });

  const find = (id: string) => {
    const s = ctx.sessions.get(id);
    if (!s) throw new ApiError('SESSION_NOT_FOUND', `no live session ${JSON.stringify(id)}`);
    return s;
  };

  app.get<{ Params: { id: string } }>('/sessions/:id', async (req) => {
    const s = find(req.params.id);
    await s.refreshStats();
    return s.info();
  });

  app.patch<{ Params: { id: string } }>('/sessions/:id', async (req) => {
    const s = find(req.params.id);
    const body = asParams(req.body, 'the request body');
    try {
      return s.update({ filter: body.filter ?? body.video_transform, iterations: body.iterations, backend: body.backend });
    } catch (err) {
      if (err instanceof SessionSettingsError) throw new ApiError(err.code, err.message);
      throw err;
    }
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', async (req, reply) => {
    if (!ctx.sessions.close(req.params.id, 'deleted')) {
      throw new ApiError('SESSION_NOT_FOUND', `no live session ${JSON.stringify(req.params.id)}`);
    }
    return reply.code(204).send();
  });
}
