/**
 * Who may see and control which session. Sessions belong to the identity whose /offer made
 * them; an operator (and everyone, with access control off) sees all. Kept in the server layer:
 * a map from session id to its owner, pruned of ended sessions whenever it is added to or
 * listed, so it never holds more than the live sessions and one more.
 */
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Identity } from './auth.js';

const identities = new WeakMap<FastifyRequest, Identity>();

/** Remember who made `req` (set by the auth hook). */
export function setIdentity(req: FastifyRequest, identity: Identity): void {
  identities.set(req, identity);
}

/** Who made `req`; anonymous (sees all) on routes without access control. */
export function identityOf(req: FastifyRequest): Identity {
  return identities.get(req) ?? ANONYMOUS;
}

/** The owner of each live session. */
export class SessionOwners {
  private readonly owners = new Map<string, string>();

  /** `isLive(id)` says whether a session still exists. */
  constructor(private readonly isLive: (sessionId: string) => boolean) {}

  /** Number of sessions with a recorded owner. */
  get size(): number {
    return this.owners.size;
  }

  /** Record that `identity` made `sessionId`. */
  record(sessionId: string, identity: Identity): void {
    this.prune();
    this.owners.set(sessionId, identity.id);
  }

  /** Whether `identity` may see and control `sessionId`. */
  mayAccess(sessionId: string, identity: Identity): boolean {
    return identity.operator || this.owners.get(sessionId) === identity.id;
  }

  /** Forget sessions that have ended. */
  prune(): void {
    for (const id of this.owners.keys()) if (!this.isLive(id)) this.owners.delete(id);
  }
}
