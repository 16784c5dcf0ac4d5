/**
 * Short-lived TURN credentials in the "TURN REST API" shared-secret scheme
 * (draft-uberti-behave-turn-rest-00), which coturn implements with `use-auth-secret` and
 * `static-auth-secret`: the server and coturn share a secret, the server hands each client a
 * username that carries its own expiry time and a password derived from it, and coturn checks
 * both without any call back to the server. Leaked credentials stop working after the TTL.
 */
import { createHmac } from 'node:crypto';
import type { IceServer as RTCIceServer } from '../media/engine.js';

export interface TurnCredentials {
  /** `${expiryUnixSeconds}:${userId}` */
  username: string;
  /** base64(HMAC-SHA1(secret, username)) */
  credential: string;
  /** Unix seconds after which coturn refuses the credentials. */
  expiresAt: number;
}

/** The part of the server Config that decides which ICE servers a client gets. */
export interface IceServerSettings {
  turnUrls: string[];
  turnSecret: string;
  turnTtlS: number;
}

/** A userId that would make the username ambiguous or unusable in a TURN USERNAME attribute. */
export class TurnUserIdError extends Error {
  constructor(userId: string) {
    super(`TURN user id must be 1-128 printable characters without ':', got ${JSON.stringify(userId)}`);
    this.name = 'TurnUserIdError';
  }
}

/** Credentials valid for `ttlS` seconds from `nowMs` (Date.now() by default). */
export function turnCredentials(secret: string, ttlS: number, userId: string, nowMs: number = Date.now()): TurnCredentials {
  // coturn splits the username at the first ':' and reads the expiry from the left part, so a
  // ':' in the user id would still work; it is refused anyway so that the id reads back unchanged.
  if (userId.length === 0 || userId.length > 128 || userId.includes(':') || /[\x00-\x1f\x7f]/.test(userId)) {
    throw new TurnUserIdError(userId);
  }
  const expiresAt = Math.floor(nowMs / 1000) + Math.max(0, Math.floor(ttlS));
  const username = `${expiresAt}:${userId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt };
}

/**
 * The iceServers list for one client: stun: URLs as they are, turn:/turns: URLs with fresh
 * credentials when a secret is configured (without a secret they are left out, since a TURN
 * server without credentials cannot be used).
 */
export function iceServersFor(config: IceServerSettings, userId: string, nowMs: number = Date.now()): RTCIceServer[] {
  const stun = config.turnUrls.filter((u) => /^stuns?:/.test(u));
  const turn = config.turnUrls.filter((u) => /^turns?:/.test(u));
  const servers: RTCIceServer[] = [];
  if (stun.length > 0) servers.push({ urls: stun });
  if (turn.length > 0 && config.turnSecret !== '') {
    const { username, credential } = turnCredentials(config.turnSecret, config.turnTtlS, userId, nowMs);
    servers.push({ urls: turn, username, credential });
  }
  return servers;
}
