/**
 * What WHIP (RFC 9725) and WHEP share over HTTP: SDP bodies, the 201 answer with Location, ETag
 * and ICE-server Links, the resource's entity tags, and the trickle PATCH with its preconditions.
 * routes/whip.ts and routes/whep.ts each add only their endpoint.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { IceServer, MediaPeer } from '../media/engine.js';
import { InvalidSdpError, UnprocessableOfferError } from '../media/sdp.js';
import { NegotiationError, UnknownSessionError } from '../media/session-manager.js';
import {
  iceServerLink, MAX_SDPFRAG_CHARS, parseSdpFrag, sdpIceCredentials, SDP_MEDIA_TYPE, SDPFRAG_MEDIA_TYPE, SdpFragError,
} from '../protocol/index.js';
import { MAX_SDP_BYTES } from '../media/sdp.js';
import { apiErrorFor } from './domain-errors.js';
import { ApiError } from './errors.js';

/** Take `application/sdp` and trickle fragments as plain text (once per app). */
export function registerSdpBodyParsers(app: FastifyInstance): void {
  app.addContentTypeParser(SDP_MEDIA_TYPE, { parseAs: 'string', bodyLimit: MAX_SDP_BYTES }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(SDPFRAG_MEDIA_TYPE, { parseAs: 'string', bodyLimit: MAX_SDPFRAG_CHARS * 4 }, (_req, body, done) => done(null, body));
}

/** The request's media type, lower case, without parameters; '' when absent. */
function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The body as text when it has `type`; 415 otherwise. */
export function textBody(req: FastifyRequest, type: string): string {
  const got = mediaType(req);
  if (got !== type || typeof req.body !== 'string') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `the body must be ${type}, got ${got === '' ? 'none' : JSON.stringify(got)}`);
  }
  return req.body;
}

/** Answer 405 with Allow for the methods a WHIP/WHEP URL does not take (instead of the router's 404). */
export function registerMethodNotAllowed(app: FastifyInstance, url: string, allow: readonly string[]): void {
  const others = (['GET', 'PUT', 'POST', 'PATCH', 'DELETE'] as const).filter((m) => !allow.includes(m));
  app.route({
    method: [...others], url, handler: async (req, reply) => {
      reply.header('allow', [...allow, 'OPTIONS'].join(', '));
      throw new ApiError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow.join(', ')}`);
    },
  });
}

/**
 * Map what accepting a WHIP/WHEP offer throws onto the RFC's statuses: 422 for an offer that is
 * read but cannot be served, 404 for a session that is gone;
 * the rest (400 INVALID_SDP, 503 + Retry-After at admission) as for /offer (domain-errors.ts).
 */
export function offerError(err: unknown): unknown {
  if (err instanceof NegotiationError && err.kind === 'unanswerable') return new ApiError('UNPROCESSABLE_OFFER', err.message);
  if (err instanceof UnprocessableOfferError) return new ApiError('UNPROCESSABLE_OFFER', err.message);
  if (err instanceof UnknownSessionError) return new ApiError('SESSION_NOT_FOUND', err.message);
  if (err instanceof InvalidSdpError) return new ApiError('INVALID_SDP', err.message);
  return apiErrorFor(err) ?? err;
}

/** One `Link: <url>; rel="ice-server"` value per URL of every ICE server (RFC 9725 §4.6). */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  const links: string[] = [];
  for (const s of servers) {
    const creds = s.username !== undefined && s.credential !== undefined ? { username: s.username, credential: s.credential } : undefined;
    for (const url of Array.isArray(s.urls) ? s.urls : [s.urls]) links.push(iceServerLink(url, creds));
  }
  return links;
}

/** Send the 201 Created of a WHIP/WHEP POST. */
export function sendCreated(reply: FastifyReply, a: { sdp: string; location: string; etag: string; iceServers: IceServer[] }): FastifyReply {
  reply.code(201).header('content-type', SDP_MEDIA_TYPE).header('location', a.location).header('etag', a.etag)
    .header('accept-patch', SDPFRAG_MEDIA_TYPE);
  const links = iceServerLinks(a.iceServers);
  if (links.length > 0) reply.header('link', links);
  return reply.send(a.sdp);
}

/** What a resource remembers of its ICE session: its entity tag and the client's credentials. */
interface IceSession {
  etag: string;
  iceUfrag: string | null;
  icePwd: string | null;
}

/**
 * The ICE sessions of WHIP/WHEP resources, by resource id. Bounded: entries of resources that
 * ended are swept on insert, and past `limit` the oldest go (Map keeps insertion order).
 */
export class IceSessions {
  private readonly byId = new Map<string, IceSession>();

  constructor(private readonly limit: number, private readonly isLive: (id: string) => boolean) {}

  /** Remember the ICE session of a new resource; returns its entity tag (strong, unguessable). */
  add(id: string, offerSdp: string): string {
    for (const k of [...this.byId.keys()]) if (!this.isLive(k)) this.byId.delete(k);
    while (this.byId.size >= this.limit) this.byId.delete(this.byId.keys().next().value!);
    const etag = `"${randomBytes(12).toString('base64url')}"`;
    this.byId.set(id, { etag, ...sdpIceCredentials(offerSdp) });
    return etag;
  }

  get(id: string): IceSession | undefined {
    return this.byId.get(id);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }
}

/** True when an If-Match value (a list of entity tags, or `*`) matches `etag` by strong comparison. */
function ifMatchMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').map((t) => t.trim()).some((t) => !t.startsWith('W/') && t === etag);
}

/**
 * A trickle PATCH on a resource (RFC 9725 §4.3): 405 where the engine takes no candidates, 415
 * for another body type, 428 without If-Match, 412 for another ICE session's tag, 400 for a
 * malformed fragment, 422 for an ICE restart (not performed: the client keeps its ICE session or
 * DELETEs and POSTs again), else the candidates are added and 204 goes back without an ETag.
 */
export async function handleTrickle(req: FastifyRequest, reply: FastifyReply, peer: MediaPeer, ice: IceSession): Promise<FastifyReply> {
  if (!peer.addRemoteCandidate) {
    reply.header('allow', 'DELETE, OPTIONS');
    throw new ApiError('METHOD_NOT_ALLOWED', 'this media engine takes ICE candidates only in the offer: no trickle PATCH');
  }
  const body = textBody(req, SDPFRAG_MEDIA_TYPE);
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new ApiError('PRECONDITION_REQUIRED', `a PATCH needs If-Match with the resource's ETag (${ice.etag})`);
  }
  if (!ifMatchMatches(ifMatch, ice.etag)) {
    throw new ApiError('PRECONDITION_FAILED', 'If-Match does not name the current ICE session');
  }
  let frag;
  try {
    frag = parseSdpFrag(body);
  } catch (err) {
    if (err instanceof SdpFragError) throw new ApiError('INVALID_SDP', err.message);
    throw err;
  }
  const restart = (frag.iceUfrag !== null && frag.iceUfrag !== ice.iceUfrag) || (frag.icePwd !== null && frag.icePwd !== ice.icePwd);
  if (restart) {
    throw new ApiError('ICE_RESTART_UNSUPPORTED', 'ICE restarts are not supported: the current ICE session goes on; DELETE and POST again for a new one');
  }
  for (const c of frag.candidates) await peer.addRemoteCandidate(c.candidate, c.mid);
  return reply.code(204).send();
}
