/**
 * Access control for the expensive routes (/offer, /process, /sessions, /ice-servers): a bearer
 * token that is either one of the static tokens (RTC_AUTH_TOKENS, RTC_AUTH_OPERATOR_TOKENS) or
 * an HS256 JWT signed with RTC_AUTH_JWT_SECRET that carries a bounded expiry. Off when nothing
 * is configured (a laptop). A checked token yields the identity that owns the sessions it makes.
 */
import { jwtVerify, type JWTPayload } from 'jose';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

export interface AuthSettings {
  authTokens: string[];
  authOperatorTokens: string[];
  authJwtSecret: string;
  authOperatorScope: string;
  authJwtMaxTtlS: number;
}

/** Who made a request: sessions belong to `id`; an operator sees and controls every session. */
export interface Identity {
  id: string;
  operator: boolean;
}

/** Everyone, when access control is off: one identity that sees everything. */
export const ANONYMOUS: Identity = { id: 'anonymous', operator: true };

/** Longest clock skew accepted on exp/nbf/iat. */
const CLOCK_TOLERANCE_S = 30;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A stable, non-secret name for a static token (its digest's first 16 hex digits). */
const tokenId = (d: Buffer): string => `token:${d.toString('hex').slice(0, 16)}`;

/** Checks bearer tokens against the configured static tokens and JWT secret. */
export class Authenticator {
  private readonly tokenDigests: Buffer[];
  private readonly operatorDigests: Buffer[];
  private readonly jwtKey: Uint8Array | null;

  constructor(private readonly settings: AuthSettings) {
    // Compare digests in constant time so a token cannot be guessed byte by byte from timings.
    this.tokenDigests = settings.authTokens.map(digest);
    this.operatorDigests = settings.authOperatorTokens.map(digest);
    this.jwtKey = settings.authJwtSecret === '' ? null : new TextEncoder().encode(settings.authJwtSecret);
  }

  /** Whether any credential is configured (else every request is let through). */
  get enabled(): boolean {
    return this.tokenDigests.length > 0 || this.operatorDigests.length > 0 || this.jwtKey !== null;
  }

  /** The identity behind `authorization` (the header value); throw ApiError 401/403 when it is not acceptable. */
  async check(authorization: string | undefined): Promise<Identity> {
    if (!this.enabled) return ANONYMOUS;
    if (authorization === undefined || authorization.trim() === '') {
      throw new ApiError('UNAUTHORIZED', 'this route needs a bearer token: Authorization: Bearer <token>');
    }
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new ApiError('UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    const token = m[1]!;
    const d = digest(token);
    // Both lists are walked whole, so the timing does not tell which one matched.
    const operator = this.operatorDigests.reduce((hit, t) => timingSafeEqual(t, d) || hit, false);
    const plain = this.tokenDigests.reduce((hit, t) => timingSafeEqual(t, d) || hit, false);
    if (operator || plain) return { id: tokenId(d), operator };
    if (this.jwtKey !== null && token.split('.').length === 3) return this.checkJwt(token, d);
    throw new ApiError('FORBIDDEN', 'the token is not valid');
  }

  private async checkJwt(token: string, d: Buffer): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwtKey!, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new ApiError('FORBIDDEN', code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is not valid');
    }
    const now = Date.now() / 1000;
    if (typeof payload.exp !== 'number') throw new ApiError('FORBIDDEN', 'the token has no expiry (exp)');
    // A token valid for ever (exp: 1e300) cannot be revoked by rotating anything but the secret.
    if (payload.exp - now > this.settings.authJwtMaxTtlS + CLOCK_TOLERANCE_S) {
      throw new ApiError('FORBIDDEN', `the token expires more than ${this.settings.authJwtMaxTtlS} s from now (RTC_AUTH_JWT_MAX_TTL_S)`);
    }
    if (payload.iat !== undefined && payload.iat > now + CLOCK_TOLERANCE_S) {
      throw new ApiError('FORBIDDEN', 'the token was issued in the future (iat)');
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    const operator = scopes.includes(this.settings.authOperatorScope);
    // Sessions belong to the subject; a token without one owns only what it made itself.
    const id = typeof payload.sub === 'string' && payload.sub !== '' ? `jwt:${payload.sub}` : tokenId(d);
    return { id, operator };
  }
}
