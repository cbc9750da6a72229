import {
  EMAIL_ID_PATTERN,
  emailRequestSchema,
  emailStatusSchema,
  type RequestLimits,
  scheduledAtSchema,
  stuckEmailSchema,
} from '@postline/contracts';
import { z } from 'zod';
import { AUTH_THROTTLED, commonErrors, problem, problemSchema } from './problem-schema.js';
import { templateSchemas } from './template-schemas.js';
import { resultSchemas } from './webhook-schemas.js';

/** Pages of GET /v1/emails, as Resend's: 20 emails by default, 100 at most; the stuck audit's, up to 1,000. */
export const DEFAULT_LIST_PAGE = 20;
const MAX_LIST_PAGE = 100;
const MAX_STUCK_PAGE = 1000;
/** The answer to a cursor the ledger does not find for the key. */
export const UNKNOWN_CURSOR = "names no email of this API key (another key's, or one purged by retention)";
const emailCursor = z.string().regex(new RegExp(`^${EMAIL_ID_PATTERN}$`), 'must be an email id');

/** A page of emails' parameters (Resend's pagination): `limit`, and an email id after or before which it starts. */
function pageQuery(maxLimit: number, range: string, described = `Emails on the page: 1 to ${maxLimit} (default ${DEFAULT_LIST_PAGE})`) {
  return {
    limit: z.coerce.number({ error: range }).int(range).min(1, range).max(maxLimit, range).optional().describe(described),
    after: emailCursor.optional().describe('An email id: the page of emails older than it (the next page: the last id of this one)'),
    before: emailCursor.optional().describe('An email id: the page of emails newer than it (the previous page: the first id of this one)'),
  };
}

function oneCursor(q: { after?: string | undefined; before?: string | undefined }, ctx: z.RefinementCtx): void {
  if (q.after !== undefined && q.before !== undefined)
    ctx.addIssue({ code: 'custom', path: ['before'], message: 'give after or before, not both' });
}

const acceptErrors = {
  ...commonErrors,
  400: problem(
    'Invalid request (the first 20 bad fields are listed in `errors`), malformed JSON, or a body that nests deeper than 64 levels, has an object of more than 10,000 keys or holds more than 50,000 values (EMAIL_ERR_JSON_TOO_COMPLEX)',
  ),
  403: problem('Sender domain not allowed'),
  409: problem('Idempotency-Key reused with a different body'),
  413: problem('Body too large'),
  415: problem('Not application/json'),
  429: problem(
    `Email rate limit exceeded (RATE_LIMIT_PER_MINUTE; see RateLimit-* and Retry-After headers), or the API key has used its template render time (EMAIL_ERR_RENDER_TIME_SPENT; Retry-After), ${AUTH_THROTTLED} (Retry-After)`,
  ),
};

// Loose: fastify replaces request.headers with the parsed value, and the other headers must stay.
const idempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x20-\x7e]{1,255}$/)
    .optional()
    .describe('Retries with the same key get the same id(s) and never a second email; the same key with another body is a 409.'),
});

/**
 * Every route schema of the API, built once per app from this deployment's limits. They validate
 * requests (validation.ts) and generate the OpenAPI document (@fastify/swagger), so the two
 * cannot disagree. The registry names the shared components of the document.
 */
export function apiSchemas(limits: RequestLimits, maxBatch: number) {
  const registry = z.registry<{ id: string }>();
  const email = emailRequestSchema(limits);
  const accepted = z.object({
    id: z.string(),
    status: z.enum(['queued', 'scheduled']),
    scheduledAt: z.string().meta({ format: 'date-time' }).optional().describe('For a scheduled email: when it is due (UTC)'),
    suppressed: z
      .array(z.string())
      .optional()
      .describe(
        "Recipients on this account's suppression list right now: the mailer will skip them (its check at send time is the one that counts)",
      ),
  });
  registry.add(email, { id: 'EmailRequest' });
  registry.add(accepted, { id: 'Accepted' });
  registry.add(emailStatusSchema, { id: 'EmailStatus' });
  registry.add(stuckEmailSchema, { id: 'StuckEmail' });
  registry.add(problemSchema, { id: 'Problem' });
  const emailParams = z.object({ id: z.string() });
  const tooLate = problem('Too late: a mailer has taken the email, or it is final (`state` says which)');
  return {
    ...resultSchemas(registry),
    ...templateSchemas(registry),
    reschedule: {
      summary: 'Reschedule an email no mailer has taken yet (a time in the past: send now)',
      params: emailParams,
      body: z.strictObject({ scheduledAt: scheduledAtSchema(limits.maxScheduleDays) }),
      response: {
        200: emailStatusSchema,
        400: problem('scheduledAt is malformed or too far ahead'),
        404: problem('No such email for this API key'),
        409: tooLate,
        ...commonErrors,
      },
    },
    cancel: {
      summary: 'Cancel an email no mailer has taken yet: it ends `canceled` and is never sent',
      params: emailParams,
      response: { 200: emailStatusSchema, 404: problem('No such email for this API key'), 409: tooLate, ...commonErrors },
    },
    registry,
    email,
    send: {
      summary: 'Send an email',
      headers: idempotencyHeaders,
      body: email,
      response: { 202: accepted.describe('Accepted: acknowledged by the Kafka in-sync replicas (acks=all)'), ...acceptErrors },
    },
    batch: {
      summary: `Send up to ${maxBatch} emails at once (validated as a whole first: one bad item rejects all)`,
      headers: idempotencyHeaders,
      body: z.strictObject({ emails: z.array(email).min(1).max(maxBatch) }),
      response: { 202: z.object({ data: z.array(accepted) }).describe('All accepted, one entry per email, in order'), ...acceptErrors },
    },
    /** The batch's body without its emails' schema: the route checks this, then each email in turns (validateInTurns). */
    batchShape: z.strictObject({ emails: z.array(z.unknown()).min(1).max(maxBatch) }),
    status: {
      summary: "An email's delivery status",
      params: z.object({ id: z.string() }),
      response: { 200: emailStatusSchema, 404: problem('No such email for this API key'), ...commonErrors },
    },
    /** Resend's emails.list: a page and nothing else (GET /resend/emails). */
    resendList: z.strictObject(pageQuery(MAX_LIST_PAGE, `must be an integer from 1 to ${MAX_LIST_PAGE}`)).superRefine(oneCursor),
    list: {
      summary:
        "The API key's emails, newest first, a page at a time (cursor: an email id); with stuck=true, the stuck-email audit instead: accepted, with no final outcome STUCK_AFTER_MS after they were due (oldest first)",
      querystring: z
        .strictObject({
          stuck: z.literal('true', { error: 'stuck can only be true: the stuck-email audit' }).optional(),
          ...pageQuery(
            MAX_STUCK_PAGE,
            `must be an integer from 1 to ${MAX_LIST_PAGE} (${MAX_STUCK_PAGE} with stuck=true)`,
            `Emails on the page: 1 to ${MAX_LIST_PAGE} (default ${DEFAULT_LIST_PAGE}); with stuck=true 1 to ${MAX_STUCK_PAGE} (default 100)`,
          ),
        })
        .superRefine((q, ctx) => {
          if (q.stuck) {
            for (const key of ['after', 'before'] as const)
              if (q[key] !== undefined)
                ctx.addIssue({ code: 'custom', path: [key], message: 'the stuck-email audit is one page: no cursor' });
          } else if (q.limit !== undefined && q.limit > MAX_LIST_PAGE) {
            ctx.addIssue({ code: 'custom', path: ['limit'], message: `must be an integer from 1 to ${MAX_LIST_PAGE}` });
          }
          oneCursor(q, ctx);
        }),
      response: {
        200: z.union([
          z
            .object({
              object: z.literal('list'),
              hasMore: z.boolean().describe('More emails lie beyond this page in the direction it was read'),
              data: z.array(emailStatusSchema),
            })
            .describe('A page of emails, newest first'),
          z
            .object({ stuckAfterMs: z.number().int(), data: z.array(stuckEmailSchema) })
            .describe('With stuck=true: the stuck emails, oldest first'),
        ]),
        400: problem('A query parameter is out of range, or a cursor names no email of this API key'),
        ...commonErrors,
      },
    },
  };
}
