/**
 * Every error code the API and the data channel answer with, and the HTTP status that goes
 * with it. A client acts on the code (for example: retry later on AT_CAPACITY), never on the
 * message text.
 */

/** Code → HTTP status. The data channel sends the same codes without a status. */
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
  /** WHIP/WHEP: a PATCH whose If-Match names another ICE session than the current one. */
  PRECONDITION_FAILED: 412,
  BODY_TOO_LARGE: 413,
  /** Data channel only: the client's frames exceed the server's pixel limit (the session ends). */
  FRAME_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** WHIP/WHEP: a well-formed offer this server cannot answer (no codec it runs, more tracks than one per kind, wrong direction). */
  UNPROCESSABLE_OFFER: 422,
  /** WHIP/WHEP: an ICE restart, which this server does not perform (RFC 9725 §4.3.1: 422 for the unsupported PATCH kind). */
  ICE_RESTART_UNSUPPORTED: 422,
  /** WHIP/WHEP: a PATCH without If-Match. */
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  /** A request about a session another replica holds: that replica broke off or did not answer in time. */
  OWNER_UNREACHABLE: 502,
  AT_CAPACITY: 503,
  DRAINING: 503,
  BACKEND_UNAVAILABLE: 503,
  SERVER_BUSY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The error codes, in table order. */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];

/** True when `v` is one of the codes above. */
export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, v);
}

/** The HTTP status for a code. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}

/** The error object inside an HTTP error body or a data channel `error` message. */
export interface ErrorDetail {
  /** One of ERROR_CODES; typed as string because a newer server may send a code this client does not know. */
  code: string;
  message: string;
}

/** The JSON body of every non-2xx HTTP answer. */
export interface ErrorBody {
  error: ErrorDetail;
}

/** Build the JSON body for an error response. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The `{ code, message }` of an error body, or null when `body` is not one. */
export function parseErrorBody(body: unknown): ErrorDetail | null {
  if (!isRecord(body) || !isRecord(body.error)) return null;
  const { code, message } = body.error;
  if (typeof code !== 'string' || code === '') return null;
  return { code, message: typeof message === 'string' ? message : '' };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
