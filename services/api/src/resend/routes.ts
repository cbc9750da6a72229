import { canceledEvent, type EmailRequest, scheduledAtSchema, scheduledEvent } from '@postline/contracts';
import { cancelEmail, getStatus, rescheduleEmail } from '@postline/ledger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accept, checkSenders } from '../accept.js';
import type { ApiConfig } from '../config.js';
import { emailPage } from '../email-page.js';
import { BadIdempotencyKeyError, NotFoundError, retryHint, TooLateError, unlessClientAborted } from '../errors.js';
import { found, fromLedger } from '../from-ledger.js';
import { shapedJsonParser } from '../json-shape.js';
import { preflight } from '../preflight.js';
import type { apiSchemas } from '../schemas.js';
import { mapInTurns, valid, validationProblem, validatorCompiler } from '../validation.js';
import { toResendError } from './problem.js';
import { fetchedAttachments, fromResend, toResendEmail } from './translate.js';

const EMAIL_ID = /^[0-9a-f-]{36}$/;
// Hidden from /openapi.json: this surface is documented by Resend's own reference.
const hidden = { schema: { hide: true } };
/** A send route: the email rate limit counts it, not the request limit (auth.ts). */
const hiddenSend = { ...hidden, config: { sendsEmails: true } };

/**
 * A Resend-compatible surface under /resend, for apps that use the `resend` SDK
 * (`RESEND_BASE_URL=http://<api>:3000/resend`): the same pipeline as /v1 — the same key, schema,
 * allowlist, limits, rate limit and idempotency, and an answer only after the acks=all ack —
 * with Resend's field names, response shapes and error bodies.
 */
export async function resendRoutes(
  app: FastifyInstance,
  { config, schemas }: { config: ApiConfig; schemas: ReturnType<typeof apiSchemas> },
) {
  app.addHook('onRequest', app.authenticate);
  // The SDK sends `Content-Type: application/json` with no body on cancel; Resend accepts that,
  // so here (only) an empty JSON body is no body. Anything else is parsed as on /v1 (json-shape.ts).
  shapedJsonParser(app, { emptyIsNoBody: true });
  const checkEmail = validatorCompiler({ schema: schemas.email, httpPart: 'body', method: 'POST', url: '/resend/emails' });
  const checkSchedule = validatorCompiler({
    schema: z.object({ scheduled_at: scheduledAtSchema(config.limits.maxScheduleDays) }),
    httpPart: 'body',
    method: 'PATCH',
    url: '/resend/emails/:id',
  });

  const idempotencyKey = (request: FastifyRequest) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined) return undefined;
    if (typeof key !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(key)) throw new BadIdempotencyKeyError();
    return key;
  };

  app.post('/emails', hiddenSend, async (request, reply) => {
    const body = fromResend(request.body);
    // As on /v1: count the lists (bounded), charge the rate limit, then validate.
    app.emailLimiter.take(request.account, preflight(body, config.limits, null), reply);
    const fetched = fetchedAttachments(body);
    if (fetched.length > 0) throw validationProblem(fetched);
    const email = valid<EmailRequest>(checkEmail, body);
    checkSenders([email], config.SENDER_DOMAINS);
    const [accepted] = await accept(app, request, [email], { idempotencyKey: idempotencyKey(request), batch: false });
    return { id: accepted?.id };
  });

  app.post('/emails/batch', hiddenSend, async (request, reply) => {
    const items = Array.isArray(request.body) ? request.body.slice(0, config.MAX_BATCH_SIZE + 1).map(fromResend) : request.body;
    const wrapped = { emails: items };
    app.emailLimiter.take(request.account, preflight(wrapped, config.limits, config.MAX_BATCH_SIZE), reply);
    if (!Array.isArray(items) || items.length === 0)
      throw validationProblem([{ path: '/', message: 'must be a non-empty array of emails' }]);
    // Strict, as Resend's default `x-batch-validation: strict`: one bad item rejects the batch.
    const fetched = items.flatMap((item, i) => fetchedAttachments(item, `/${i}`));
    if (fetched.length > 0) throw validationProblem(fetched);
    // An email a step, the event loop running between turns (mapInTurns).
    const emails = await mapInTurns(items, (item, i) => {
      const result = checkEmail(item) as { value?: EmailRequest; error?: Error & { errors?: { path: string }[] } };
      if (result.error) {
        for (const e of result.error.errors ?? []) e.path = `/${i}${e.path === '/' ? '' : e.path}`;
        throw result.error;
      }
      return result.value as EmailRequest;
    });
    checkSenders(emails, config.SENDER_DOMAINS);
    const accepted = await accept(app, request, emails, { idempotencyKey: idempotencyKey(request), batch: true });
    return { data: accepted.map((a) => ({ id: a.id })) };
  });

  const emailId = (id: string) => found(EMAIL_ID.test(id) && id);

  app.get<{ Params: { id: string } }>('/emails/:id', hidden, async (request) => {
    const id = emailId(request.params.id);
    return toResendEmail(found(await fromLedger(() => getStatus(app.ledger, id, request.account))));
  });

  // emails.list: Resend's pagination over the same page as GET /v1/emails.
  const checkList = validatorCompiler({ schema: schemas.resendList, httpPart: 'querystring', method: 'GET', url: '/resend/emails' });
  app.get('/emails', hidden, async (request) => {
    const query = valid<{ limit?: number; after?: string; before?: string }>(checkList, request.query ?? {});
    const page = await emailPage(app, request.account, query);
    return { object: 'list', has_more: page.hasMore, data: page.emails.map(toResendEmail) };
  });

  const changed = async (id: string, change: ReturnType<typeof cancelEmail>) => {
    const result = await fromLedger(() => change);
    if (result.kind === 'not found') found(null);
    if (result.kind === 'too late') throw Object.assign(new TooLateError(), { state: result.state });
    return { object: 'email', id };
  };

  app.patch<{ Params: { id: string }; Body: { scheduled_at?: unknown } }>('/emails/:id', hidden, async (request) => {
    const id = emailId(request.params.id);
    const at = valid<{ scheduled_at: string }>(checkSchedule, request.body ?? {}).scheduled_at;
    return changed(id, rescheduleEmail(app.ledger, id, request.account, at, scheduledEvent(request.account, id, at, new Date())));
  });

  app.post<{ Params: { id: string } }>('/emails/:id/cancel', hidden, async (request) => {
    const id = emailId(request.params.id);
    return changed(id, cancelEmail(app.ledger, id, request.account, canceledEvent(request.account, id, new Date())));
  });

  app.setNotFoundHandler(async () => {
    throw new NotFoundError();
  });
  app.setErrorHandler((thrown: Error & { code?: string; statusCode?: number }, request, reply) => {
    const error = unlessClientAborted(thrown, request);
    let body = toResendError(error, request.headers.authorization !== undefined);
    if (!body) {
      request.log.error({ err: error }, 'unhandled error');
      body = { statusCode: 500, name: 'application_error', message: 'Internal server error. Please try again later.' };
    }
    app.metrics.rejected.inc({ code: error.code ?? 'EMAIL_ERR_INTERNAL' });
    retryHint(error, reply);
    reply.status(body.statusCode).send(body);
  });
}
