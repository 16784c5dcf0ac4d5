/**
 * WHIP ingest (RFC 9725): POST /whip and /whip/:filter take an SDP offer and answer 201 with the
 * session resource /whip/sessions/:id, which takes trickle PATCHes and DELETE. Filter, iterations
 * and backend come from the path or the query, as a WHIP client (OBS) can only be given a URL.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BackendUnavailableError } from '../../processing/backend-registry.js';
import { SDP_MEDIA_TYPE, SDPFRAG_MEDIA_TYPE } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { identityOf, type SessionOwners } from '../ownership.js';
import { backendParam, filterParam, type Params } from '../params.js';
import { handleTrickle, IceSessions, offerError, registerMethodNotAllowed, sendCreated, textBody } from '../whip-http.js';

/** The path of a WHIP session resource. */
export const whipResourcePath = (id: string): string => `/whip/sessions/${id}`;

/** Register the WHIP endpoint and session resources; a session belongs to the identity that POSTed it (`owners`). */
export function registerWhipRoutes(app: FastifyInstance, ctx: ServerContext, owners: SessionOwners): void {
  const ice = new IceSessions(Math.max(16, ctx.config.maxSessions * 2), (id) => ctx.sessions.get(id) !== undefined);

  /** Filter (with iterations and style) and backend from the query (and path); a backend that does not run here answers 503 before any media work. */
  const settings = (query: Params) => {
    const filter = filterParam(query, 'none', 1, ctx.config.facesStyle);
    const backend = backendParam(query);
    if (backend !== 'auto') {
      try {
        ctx.registry.get(backend);
      } catch (err) {
        if (err instanceof BackendUnavailableError) throw new ApiError('BACKEND_UNAVAILABLE', err.message);
        throw err;
      }
    }
    return { filter, backend };
  };

  const endpoint = async (req: FastifyRequest, reply: FastifyReply, pathFilter: string | undefined) => {
    const sdp = textBody(req, SDP_MEDIA_TYPE);
    const query: Params = { ...(req.query as Params) };
    if (pathFilter !== undefined) query.filter = pathFilter;
    const { filter, backend } = settings(query);
    let answer;
    try {
      answer = await ctx.sessions.accept({ sdp, filter, backend, standard: true });
    } catch (err) {
      throw offerError(err);
    }
    owners.record(answer.sessionId, identityOf(req));
    const etag = ice.add(answer.sessionId, sdp);
    return sendCreated(reply, { sdp: answer.sdp, location: whipResourcePath(answer.sessionId), etag, iceServers: ctx.iceServersFor(answer.sessionId) });
  };

  app.post('/whip', (req, reply) => endpoint(req, reply, undefined));
  app.post<{ Params: { filter: string } }>('/whip/:filter', (req, reply) => endpoint(req, reply, req.params.filter));
  const endpointOptions = (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).header('accept-post', SDP_MEDIA_TYPE).header('allow', 'POST, OPTIONS').send();
  app.options('/whip', endpointOptions);
  app.options('/whip/:filter', endpointOptions);

  // Another identity's session is answered as absent, as on /sessions/:id.
  const find = (id: string, req: FastifyRequest) => {
    const session = ctx.sessions.get(id);
    const peer = session?.mediaPeer;
    const state = ice.get(id);
    if (!session || !peer || !state || !owners.mayAccess(id, identityOf(req))) throw new ApiError('SESSION_NOT_FOUND', `no live WHIP session ${JSON.stringify(id)}`);
    return { session, peer, state };
  };

  app.patch<{ Params: { id: string } }>('/whip/sessions/:id', async (req, reply) => {
    const { peer, state } = find(req.params.id, req);
    return handleTrickle(req, reply, peer, state);
  });
  app.delete<{ Params: { id: string } }>('/whip/sessions/:id', async (req, reply) => {
    find(req.params.id, req);
    ctx.sessions.close(req.params.id, 'deleted');
    ice.delete(req.params.id);
    return reply.code(200).send();
  });
  app.options<{ Params: { id: string } }>('/whip/sessions/:id', async (_req, reply) =>
    reply.code(200).header('accept-patch', SDPFRAG_MEDIA_TYPE).header('allow', 'PATCH, DELETE, OPTIONS').send());
  registerMethodNotAllowed(app, '/whip', ['POST']);
  registerMethodNotAllowed(app, '/whip/:filter', ['POST']);
  registerMethodNotAllowed(app, '/whip/sessions/:id', ['PATCH', 'DELETE']);
}
