/**
 * WHEP playback (draft-ietf-wish-whep): POST /whep/:sessionId takes a viewer's recvonly offer
 * for a live session and answers 201 with the viewer resource /whep/viewers/:id, which takes
 * trickle PATCHes and DELETE like a WHIP session. The viewer gets the session's processed output.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SDP_MEDIA_TYPE, SDPFRAG_MEDIA_TYPE } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { identityOf, type SessionOwners } from '../ownership.js';
import { handleTrickle, IceSessions, offerError, registerMethodNotAllowed, sendCreated, textBody } from '../whip-http.js';

/** The path of a WHEP viewer resource. */
export const whepResourcePath = (id: string): string => `/whep/viewers/${id}`;

/**
 * Register the WHEP endpoint and viewer resources. An identity watches only sessions it may see
 * (`owners`; an operator, or anyone with access control off, sees all), and owns its viewers.
 */
export function registerWhepRoutes(app: FastifyInstance, ctx: ServerContext, owners: SessionOwners): void {
  const ice = new IceSessions(Math.max(16, ctx.config.maxSessions * 2), (id) => ctx.sessions.getViewer(id) !== undefined);

  app.post<{ Params: { sessionId: string } }>('/whep/:sessionId', async (req, reply) => {
    const sdp = textBody(req, SDP_MEDIA_TYPE);
    const who = identityOf(req);
    if (!owners.mayAccess(req.params.sessionId, who)) {
      throw new ApiError('SESSION_NOT_FOUND', `no live session ${JSON.stringify(req.params.sessionId)}`);
    }
    let answer;
    try {
      answer = await ctx.sessions.acceptViewer(req.params.sessionId, sdp);
    } catch (err) {
      throw offerError(err);
    }
    owners.record(answer.viewerId, who);
    const etag = ice.add(answer.viewerId, sdp);
    return sendCreated(reply, { sdp: answer.sdp, location: whepResourcePath(answer.viewerId), etag, iceServers: ctx.iceServersFor(answer.viewerId) });
  });
  app.options('/whep/:sessionId', async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).header('accept-post', SDP_MEDIA_TYPE).header('allow', 'POST, OPTIONS').send());

  const find = (id: string, req: FastifyRequest) => {
    const viewer = ctx.sessions.getViewer(id);
    const peer = viewer?.mediaPeer;
    const state = ice.get(id);
    if (!viewer || !peer || !state || !owners.mayAccess(id, identityOf(req))) throw new ApiError('NOT_FOUND', `no live WHEP viewer ${JSON.stringify(id)}`);
    return { viewer, peer, state };
  };

  app.patch<{ Params: { id: string } }>('/whep/viewers/:id', async (req, reply) => {
    const { peer, state } = find(req.params.id, req);
    return handleTrickle(req, reply, peer, state);
  });
  app.delete<{ Params: { id: string } }>('/whep/viewers/:id', async (req, reply) => {
    find(req.params.id, req);
    ctx.sessions.closeViewer(req.params.id, 'deleted');
    ice.delete(req.params.id);
    return reply.code(200).send();
  });
  app.options<{ Params: { id: string } }>('/whep/viewers/:id', async (_req, reply) =>
    reply.code(200).header('accept-patch', SDPFRAG_MEDIA_TYPE).header('allow', 'PATCH, DELETE, OPTIONS').send());
  registerMethodNotAllowed(app, '/whep/:sessionId', ['POST']);
  registerMethodNotAllowed(app, '/whep/viewers/:id', ['PATCH', 'DELETE']);
}
