/**
 * Access control for the expensive routes (/offer, /process, /sessions, /ice-servers): a bearer
 * token that is either one of the static tokens (RTC_AUTH_TOKENS) or an HS256 JWT signed with
 * RTC_AUTH_JWT_SECRET that carries an expiry. Off when neither is configured (a laptop).
 */
import { jwtVerify } from 'jose';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

export interface AuthSettings {
  authTokens: string[];
  authJwtSecret: string;
}

/** Longest clock skew accepted on exp/nbf. */
const CLOCK_TOLERANCE_S = 30;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Checks bearer tokens against the configured static tokens and JWT secret. */
export class Authenticator {
  private readonly tokenDigests: Buffer[];
  private readonly jwtKey: Uint8Array | null;

  constructor(settings: AuthSettings) {
    // Compare digests in constant time so a token cannot be guessed byte by byte from timings.
    this.tokenDigests = settings.authTokens.map(digest);
    this.jwtKey = settings.authJwtSecret === '' ? null : new TextEncoder().encode(settings.authJwtSecret);
  }

  /** Whether any credential is configured (else every request is let through). */
  get enabled(): boolean {
    return this.tokenDigests.length > 0 || this.jwtKey !== null;
  }

  /** Resolve when `authorization` (the header value, or a token) is acceptable; throw ApiError 401/403. */
  async check(authorization: string | undefined): Promise<void> {
    if (!this.enabled) return;
    if (authorization === undefined || authorization.trim() === '') {
      throw new ApiError('UNAUTHORIZED', 'this route needs a bearer token: Authorization: Bearer <token>');
    }
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) throw new ApiError('UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    const token = m[1]!;
    const d = digest(token);
    if (this.tokenDigests.some((t) => timingSafeEqual(t, d))) return;
    if (this.jwtKey !== null && token.split('.').length === 3) {
      try {
        const { payload } = await jwtVerify(token, this.jwtKey, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S });
        if (typeof payload.exp !== 'number') throw new ApiError('FORBIDDEN', 'the token has no expiry (exp)');
        return;
      } catch (err) {
        if (err instanceof ApiError) throw err;
        const code = (err as { code?: string }).code;
        throw new ApiError('FORBIDDEN', code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is not valid');
      }
    }
    throw new ApiError('FORBIDDEN', 'the token is not valid');
  }
}
