import createError from '@fastify/error';

/** The mailer's coded errors: they name why a record was dead-lettered or deferred. */
export const InvalidRecordError = createError('MAILER_ERR_INVALID_RECORD', 'Record is not a valid email envelope: %s');
export const PermanentSmtpError = createError('MAILER_ERR_SMTP_PERMANENT', 'The SMTP server refused the email permanently: %s');
export const AttemptsExhaustedError = createError('MAILER_ERR_ATTEMPTS_EXHAUSTED', 'Gave up after %s attempts: %s');
export const LedgerUnavailableError = createError('MAILER_ERR_LEDGER_UNAVAILABLE', 'The ledger is unavailable: %s');
