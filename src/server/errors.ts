/**
 * Every error the API returns, by code. Routes throw ApiError; the error handler in app.ts turns
 * it (and fastify's own errors) into `{ "error": { "code", "message" } }` with the status here.
 */

export const ERROR_CODES = {
  INVALID_PARAMETER: 400,
  INVALID_JSON: 400,
  INVALID_SDP: 400,
  UNKNOWN_FILTER: 400,
  INVALID_IMAGE: 400,
  MALFORMED_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  AT_CAPACITY: 503,
  DRAINING: 503,
  BACKEND_UNAVAILABLE: 503,
  SERVER_BUSY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

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

/** The JSON body of an error response. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Build the JSON body for an error response. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
