/**
 * The server's error type. The codes and their HTTP statuses are the protocol's (src/protocol/errors.ts),
 * shared with the web page and the load generator. Routes throw ApiError; the error handler in
 * app.ts turns it (and fastify's own errors) into `{ "error": { "code", "message" } }`.
 */

import { ERROR_CODES, type ErrorCode } from '../protocol/index.js';

export { ERROR_CODES, errorBody, type ErrorBody, type ErrorCode } from '../protocol/index.js';

/** An error with a code the client can act on. */
export class ApiError extends Error {
  readonly statusCode: number;
  /** Seconds for a Retry-After header (503, 429). */
  readonly retryAfterS: number | undefined;

  constructor(readonly code: ErrorCode, message: string, options: { retryAfterS?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERROR_CODES[code];
    this.retryAfterS = options.retryAfterS;
  }
}
