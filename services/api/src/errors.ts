import createError, { type FastifyError } from '@fastify/error';

/**
 * Every error the API answers with. The code is stable (clients may switch on it) and becomes
 * the problem `type` (urn:postline:problem:<code>); the message is the problem `title`.
 */
export const ValidationError = createError('EMAIL_ERR_VALIDATION', 'The request is invalid', 400);
export const JsonTooComplexError = createError(
  'EMAIL_ERR_JSON_TOO_COMPLEX',
  'The request body nests deeper than 64 levels, has an object of more than 10,000 keys, or holds more than 50,000 values',
  400,
);
/** Not over HTTP: a message (SMTP submission: 550 5.6.0) or a report (the bounce listener keeps it as malformed) that mailparser cannot read, or whose text would cost it too much to. */
export const MessageUnreadableError = createError('EMAIL_ERR_MESSAGE_UNREADABLE', 'The message cannot be read: %s', 400);
export const BadIdempotencyKeyError = createError(
  'EMAIL_ERR_IDEMPOTENCY_KEY',
  'Idempotency-Key must be 1-255 printable ASCII characters',
  400,
);
export const UnauthorizedError = createError('EMAIL_ERR_UNAUTHORIZED', 'A valid API key is required (Authorization: Bearer <key>)', 401);
export const SenderNotAllowedError = createError(
  'EMAIL_ERR_SENDER_NOT_ALLOWED',
  'The sender domain %s is not allowed for this service',
  403,
);
export const NotFoundError = createError('EMAIL_ERR_NOT_FOUND', 'Not found', 404);
export const IdempotencyConflictError = createError(
  'EMAIL_ERR_IDEMPOTENCY_CONFLICT',
  'This Idempotency-Key was already used with a different request',
  409,
);
export const AuthThrottledError = createError(
  'EMAIL_ERR_AUTH_THROTTLED',
  'Too many wrong API keys from this address (AUTH_FAILURES_PER_MINUTE); no key of it is checked until Retry-After',
  429,
);
export const RateLimitedError = createError('EMAIL_ERR_RATE_LIMITED', 'Rate limit exceeded for this API key', 429);
export const RenderTimeSpentError = createError(
  'EMAIL_ERR_RENDER_TIME_SPENT',
  'This API key has used its template render time (TEMPLATE_RENDER_MS_PER_SECOND); retry after Retry-After',
  429,
);
export const QueueUnavailableError = createError(
  'EMAIL_ERR_QUEUE_UNAVAILABLE',
  'The email queue did not confirm the request in time; it may or may not have been accepted — retry with the same Idempotency-Key',
  503,
);
export const LedgerUnavailableError = createError('EMAIL_ERR_LEDGER_UNAVAILABLE', 'Email status is temporarily unavailable', 503);
export const NotReadyError = createError(
  'EMAIL_ERR_STARTING',
  'The server is starting (waiting for Kafka or Postgres); retry shortly',
  503,
);
export const WebhookUrlNotAllowedError = createError(
  'EMAIL_ERR_WEBHOOK_URL_NOT_ALLOWED',
  'This URL may not receive webhooks (only public http(s) addresses)',
  400,
);
export const TooLateError = createError(
  'EMAIL_ERR_TOO_LATE',
  'Too late: a mailer has already taken this email (or it is final); it can no longer be canceled or rescheduled',
  409,
);
export const TemplateNameTakenError = createError('EMAIL_ERR_TEMPLATE_NAME_TAKEN', 'A template with this name already exists', 409);
export const NoDraftError = createError(
  'EMAIL_ERR_TEMPLATE_NO_DRAFT',
  'This template has no draft to publish (edit it first: PATCH creates the draft)',
  409,
);
/** An account-wide limit (MAX_WEBHOOK_ENDPOINTS, TEMPLATE_STORAGE_BYTES): deleting something frees it. */
export const LimitReachedError = createError('EMAIL_ERR_LIMIT_REACHED', 'The account has reached a limit (the detail says which)', 409);
export const BusyError = createError(
  'EMAIL_ERR_BUSY',
  'The server is holding as many request bodies as it may (BODY_BYTES_IN_FLIGHT); retry shortly',
  503,
);
export const BodyTimeoutError = createError(
  'EMAIL_ERR_BODY_TIMEOUT',
  'The request body stopped arriving (no byte for %s s); the connection is closed',
  408,
);
/** Nobody reads this answer: the code is for the access line and the rejected-requests metric. */
export const ClientAbortedError = createError(
  'EMAIL_ERR_CLIENT_ABORTED',
  'The client closed the connection before its request body arrived',
  400,
);
export const ShuttingDownError = createError('EMAIL_ERR_SHUTTING_DOWN', 'The server is shutting down; retry', 503);

/**
 * The error to answer: ClientAbortedError when the request body failed because the client went
 * away mid-upload (Node's `aborted`, or a premature close seen through the body watch), which is
 * not invalid JSON and not a fault of ours; else the error itself.
 */
export function unlessClientAborted<E extends { code?: string }>(error: E, request: { raw: { complete: boolean } }): E | FastifyError {
  const aborted = (error.code === 'ECONNRESET' || error.code === 'ERR_STREAM_PREMATURE_CLOSE') && !request.raw.complete;
  return aborted ? new ClientAbortedError() : error;
}

/** An error that says when to come back (a 429's `retryAfter`; a 503 EMAIL_ERR_BUSY: 1 s) sets Retry-After, in both error handlers. */
export function retryHint(error: { code?: string; retryAfter?: number }, reply: { header(name: string, value: string): unknown }): void {
  if (error.retryAfter !== undefined) reply.header('Retry-After', String(error.retryAfter));
  else if (error.code === 'EMAIL_ERR_BUSY') reply.header('Retry-After', '1');
}

/** A validation problem in one field, as a JSON pointer into the request body. */
export interface FieldError {
  path: string;
  message: string;
}
