import { canceledEvent, scheduledEvent } from '@postline/contracts';
import { type Change, cancelEmail, getStatus, listEvents, rescheduleEmail, stuckEmails } from '@postline/ledger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { accept, checkSenders } from '../accept.js';
import type { ApiConfig } from '../config.js';
import { emailPage } from '../email-page.js';
import { TooLateError } from '../errors.js';
import { found, fromLedger } from '../from-ledger.js';
import { preflight } from '../preflight.js';
import type { apiSchemas } from '../schemas.js';
import { bodyInTurns, valid, validateInTurns, validatorCompiler } from '../validation.js';

const EMAIL_ID = /^[0-9a-f-]{36}$/;

/** /v1/emails: accept one, accept a batch, look one up. Every route needs an API key. */
export async function emailRoutes(
  instance: FastifyInstance,
  { config, schemas }: { config: ApiConfig; schemas: ReturnType<typeof apiSchemas> },
) {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  // Before validation, in this order: count every list (cheap, bounded), then charge the rate
  // limit for the emails the body holds, so that even a rejected request costs its sender.
  const bounded = (maxBatch: number | null) => async (request: FastifyRequest, reply: FastifyReply) => {
    app.emailLimiter.take(request.account, preflight(request.body, config.limits, maxBatch), reply);
  };

  const sends = { sendsEmails: true };
  const checkBatchShape = validatorCompiler({ schema: schemas.batchShape, httpPart: 'body', method: 'POST', url: '/v1/emails/batch' });
  app.post('/emails', { schema: schemas.send, config: sends, preValidation: bounded(null) }, async (request, reply) => {
    const email = request.body;
    checkSenders([email], config.SENDER_DOMAINS);
    const [accepted] = await accept(app, request, [email], { idempotencyKey: request.headers['idempotency-key'], batch: false });
    reply.status(202).header('Location', `/v1/emails/${accepted?.id}`);
    return accepted;
  });

  app.post(
    '/emails/batch',
    // The body is validated in the handler, an email a step (validateInTurns), not in one piece.
    // (`as never`: fastify types a route's compiler by the whole schema object, not by one part's schema.)
    { schema: schemas.batch, config: sends, preValidation: bounded(config.MAX_BATCH_SIZE), validatorCompiler: bodyInTurns as never },
    async (request, reply) => {
      const { emails: items } = valid<{ emails: unknown[] }>(checkBatchShape, request.body);
      const emails = await validateInTurns(schemas.email, items, (i) => ['emails', i]);
      checkSenders(emails, config.SENDER_DOMAINS);
      const accepted = await accept(app, request, emails, { idempotencyKey: request.headers['idempotency-key'], batch: true });
      reply.status(202);
      return { data: accepted };
    },
  );

  app.get('/emails', { schema: schemas.list }, async (request) => {
    if (request.query.stuck) return stuckAudit(request.account, request.query.limit ?? 100);
    const page = await emailPage(app, request.account, request.query);
    return { object: 'list' as const, hasMore: page.hasMore, data: page.emails };
  });

  // The stuck-email audit for this account: accepted, not final, and overdue by STUCK_AFTER_MS.
  const stuckAudit = async (account: string, limit: number) => {
    const rows = await fromLedger(() => stuckEmails(app.ledger, config.STUCK_AFTER_MS, limit, account));
    const data = rows.map(({ account: _account, ...email }) => ({
      ...email,
      // Never claimed: it still sits where the API produced it. A row with no partition
      // was accepted by an API that partitioned by key (before sticky partitioning).
      kafka: email.kafka ?? { topic: config.EMAILS_TOPIC, partition: app.emailQueue.keyedPartitionOf(email.id), offset: null },
    }));
    return { stuckAfterMs: config.STUCK_AFTER_MS, data };
  };

  // An id that cannot be an email's is a 404 without asking the ledger.
  const emailId = (id: string) => found(EMAIL_ID.test(id) && id);

  app.get('/emails/:id', { schema: schemas.status }, async (request) => {
    const id = emailId(request.params.id);
    return found(await fromLedger(() => getStatus(app.ledger, id, request.account)));
  });

  // Decided in the ledger against the mailer's claim: the email ends sent or canceled, never both.
  const changed = async (request: FastifyRequest, id: string, change: Promise<Change>) => {
    const result = await fromLedger(() => change);
    if (result.kind === 'not found') found(null);
    if (result.kind === 'too late') throw Object.assign(new TooLateError(), { state: result.state });
    return found(await fromLedger(() => getStatus(app.ledger, id, request.account)));
  };

  app.patch('/emails/:id', { schema: schemas.reschedule }, async (request) => {
    const id = emailId(request.params.id);
    const { scheduledAt } = request.body;
    const event = scheduledEvent(request.account, id, scheduledAt, new Date());
    return changed(request, id, rescheduleEmail(app.ledger, id, request.account, scheduledAt, event));
  });

  app.post('/emails/:id/cancel', { schema: schemas.cancel }, async (request) => {
    const id = emailId(request.params.id);
    return changed(request, id, cancelEmail(app.ledger, id, request.account, canceledEvent(request.account, id, new Date())));
  });

  app.get('/emails/:id/events', { schema: schemas.events }, async (request) => {
    const id = emailId(request.params.id);
    return { data: found(await fromLedger(() => listEvents(app.ledger, id, request.account))) };
  });
}
