import { resendPath } from './translate.js';

/** The error body Resend answers, which its SDK returns as `{ error }`. */
export interface ResendError {
  statusCode: number;
  name: string;
  message: string;
}

/** Our coded errors → Resend's names and statuses (the ones its SDK and docs list). */
const BY_CODE: Record<string, { statusCode: number; name: string }> = {
  EMAIL_ERR_VALIDATION: { statusCode: 422, name: 'validation_error' },
  EMAIL_ERR_JSON_TOO_COMPLEX: { statusCode: 400, name: 'validation_error' },
  EMAIL_ERR_IDEMPOTENCY_KEY: { statusCode: 400, name: 'invalid_idempotency_key' },
  EMAIL_ERR_IDEMPOTENCY_CONFLICT: { statusCode: 409, name: 'invalid_idempotent_request' },
  EMAIL_ERR_SENDER_NOT_ALLOWED: { statusCode: 403, name: 'validation_error' },
  EMAIL_ERR_NOT_FOUND: { statusCode: 404, name: 'not_found' },
  EMAIL_ERR_RATE_LIMITED: { statusCode: 429, name: 'rate_limit_exceeded' },
  EMAIL_ERR_AUTH_THROTTLED: { statusCode: 429, name: 'rate_limit_exceeded' },
  EMAIL_ERR_RENDER_TIME_SPENT: { statusCode: 429, name: 'rate_limit_exceeded' },
  EMAIL_ERR_TOO_LATE: { statusCode: 409, name: 'validation_error' },
  EMAIL_ERR_QUEUE_UNAVAILABLE: { statusCode: 503, name: 'application_error' },
  EMAIL_ERR_LEDGER_UNAVAILABLE: { statusCode: 503, name: 'application_error' },
  EMAIL_ERR_STARTING: { statusCode: 503, name: 'application_error' },
  EMAIL_ERR_SHUTTING_DOWN: { statusCode: 503, name: 'application_error' },
  EMAIL_ERR_BUSY: { statusCode: 503, name: 'application_error' },
  // Resend lists no 408; the status is kept, so a client sees what happened.
  EMAIL_ERR_BODY_TIMEOUT: { statusCode: 408, name: 'application_error' },
  EMAIL_ERR_CLIENT_ABORTED: { statusCode: 400, name: 'validation_error' },
};

const FASTIFY_CLIENT: Record<string, number> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
};

interface AnyError {
  code?: string;
  statusCode?: number;
  message: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  state?: string;
}

/**
 * One of our errors as Resend would answer it. `hadKey`: an auth failure is `missing_api_key`
 * (401) without a key and `invalid_api_key` (403) with a wrong one, as Resend distinguishes.
 * Null: not a client error (the caller logs it and answers a 500 that hides it).
 */
export function toResendError(error: AnyError, hadKey: boolean): ResendError | null {
  if (error.code === 'EMAIL_ERR_UNAUTHORIZED') {
    return hadKey
      ? { statusCode: 403, name: 'invalid_api_key', message: 'API key is invalid' }
      : { statusCode: 401, name: 'missing_api_key', message: 'Missing API key in the authorization header' };
  }
  const fastify = error.code ? FASTIFY_CLIENT[error.code] : undefined;
  if (fastify) return { statusCode: fastify, name: 'validation_error', message: error.message };
  const known = error.code ? BY_CODE[error.code] : undefined;
  if (!known) return null;
  let message = error.message;
  const first = error.errors?.[0];
  if (first)
    message = `Invalid \`${resendPath(first.path)}\`: ${first.message}${error.errors && error.errors.length > 1 ? ` (and ${error.errors.length - 1} more)` : ''}`;
  else if (error.state) message = `${error.message} (state: ${error.state})`;
  return { statusCode: known.statusCode, name: known.name, message };
}
