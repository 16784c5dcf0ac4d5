/**
 * The one place where errors of the layers below (media, processing) become API errors. Those
 * layers throw their own named errors with a reason or a code; routes let them propagate, and the
 * error handler in app.ts answers with what this maps them to. The data channel sends the same
 * codes (SessionSettingsError carries its own), so HTTP and the channel cannot drift apart.
 */
import { InvalidSdpError } from '../media/sdp.js';
import { AdmissionError, NegotiationError } from '../media/session-manager.js';
import { SessionSettingsError } from '../media/session.js';
import { BackendUnavailableError } from '../processing/backend-registry.js';
import { FilterSpecError } from '../processing/filter-spec.js';
import { ApiError } from './errors.js';

/** Seconds a client refused at admission should wait before offering again. */
export const OFFER_RETRY_AFTER_S = 5;

const ADMISSION_CODES = { draining: 'DRAINING', capacity: 'AT_CAPACITY', resources: 'SERVER_BUSY' } as const;

/** The API error `err` answers with, or null when it is not a known domain error (then it is a 500). */
export function apiErrorFor(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof SessionSettingsError && err.code === 'AT_CAPACITY') return new ApiError(err.code, err.message, { retryAfterS: OFFER_RETRY_AFTER_S });
  if (err instanceof FilterSpecError || err instanceof SessionSettingsError) return new ApiError(err.code, err.message);
  if (err instanceof BackendUnavailableError) return new ApiError('BACKEND_UNAVAILABLE', err.message);
  if (err instanceof InvalidSdpError || err instanceof NegotiationError) return new ApiError('INVALID_SDP', err.message);
  if (err instanceof AdmissionError) return new ApiError(ADMISSION_CODES[err.reason], err.message, { retryAfterS: OFFER_RETRY_AFTER_S });
  return null;
}
