/**
 * WebRTC signalling (POST /offer, aiortc-compatible JSON) and session management
 * (GET/PATCH/DELETE /sessions, which also lists WHEP viewers), plus the ICE servers a client should use.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { identityOf, type SessionOwners } from '../ownership.js';
import { asParams, backendParam, filterParam } from '../params.js';

/** Register /offer, /sessions, /ice-servers; `owners` is shared with the WHIP/WHEP routes, whose sessions and viewers it also holds. */
export function registerSessionRoutes(app: FastifyInstance, ctx: ServerContext, owners: SessionOwners): void {
  app.post('/offer', { bodyLimit: 256 * 1024 }, async (req) => {
    const body = asParams(req.body, 'the request body');
    if (body.type !== 'offer') throw new ApiError('INVALID_SDP', `type must be "offer", got ${JSON.stringify(body.type)}`);
    const filter = filterParam(body, 'none', 1, ctx.config.facesStyle);
    const backend = backendParam(body);
    if (backend !== 'auto') ctx.registry.get(backend); // BackendUnavailableError when it does not run
    // Domain errors (InvalidSdpError, NegotiationError, AdmissionError) map to API errors in domain-errors.ts.
    const answer = await ctx.sessions.accept({ sdp: body.sdp, filter, backend });
    owners.record(answer.sessionId, identityOf(req));
    return { ...answer, iceServers: ctx.iceServersFor(answer.sessionId) };
  });

  app.get('/ice-servers', async () => ({ iceServers: ctx.iceServersFor(randomUUID()) }));

  app.get('/sessions', async (req) => {
    await ctx.sessions.refreshStats();
    owners.prune();
    const who = identityOf(req);
    return {
      sessions: ctx.sessions.list().filter((s) => owners.mayAccess(s.id, who)),
      viewers: ctx.sessions.listViewers().filter((v) => owners.mayAccess(v.id, who)),
    };
  });

  // Another identity's session is answered as absent: its id is not even confirmed.
  const find = (id: string, req: FastifyRequest) => {
    const s = ctx.sessions.get(id);
    if (!s || !owners.mayAccess(id, identityOf(req))) throw new ApiError('SESSION_NOT_FOUND', `no live session ${JSON.stringify(id)}`);
    return s;
  };

  app.get<{ Params: { id: string } }>('/sessions/:id', async (req) => {
    const s = find(req.params.id, req);
    await s.refreshStats();
    return s.info();
  });

  app.patch<{ Params: { id: string } }>('/sessions/:id', async (req) => {
    const s = find(req.params.id, req);
    const body = asParams(req.body, 'the request body');
    return s.update({ filter: body.filter ?? body.video_transform, iterations: body.iterations, style: body.style, backend: body.backend });
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', async (req, reply) => {
    find(req.params.id, req);
    if (!ctx.sessions.close(req.params.id, 'deleted')) {
      throw new ApiError('SESSION_NOT_FOUND', `no live session ${JSON.stringify(req.params.id)}`);
    }
    return reply.code(204).send();
  });
}
