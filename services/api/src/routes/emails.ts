import type { StuckEmail } from '@postline/contracts';
import { getStatus, stuckEmails } from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import { accept, checkSenders } from '../accept.js';
import type { ApiConfig } from '../config.js';
import { LedgerUnavailableError, NotFoundError, ValidationError } from '../errors.js';
import { EmailRateLimiter } from '../plugins/rate-limit.js';
import { apiSchemas } from '../schemas.js';
import { idempotencyKeyOf, parseOrThrow } from '../validation.js';

/** /v1/emails: accept one, accept a batch, look one up. Every route needs an API key. */
export async function emailRoutes(app: FastifyInstance, { config }: { config: ApiConfig }) {
  const schemas = apiSchemas(
    { maxRecipients: config.MAX_RECIPIENTS, maxSubjectLength: config.MAX_SUBJECT_LENGTH, maxAttachments: config.MAX_ATTACHMENTS },
    config.MAX_BATCH_SIZE,
  );
  const limiter = new EmailRateLimiter(config.RATE_LIMIT_PER_MINUTE);
  app.addHook('onRequest', app.authenticate);

  app.post('/emails', async (request, reply) => {
    const idempotencyKey = idempotencyKeyOf(request.headers);
    const email = parseOrThrow(schemas.email, request.body);
    checkSenders([email], config.SENDER_DOMAINS);
    limiter.take(request.account, 1, reply);
    const [accepted] = await accept(app, request, [email], { idempotencyKey, body: request.body, batch: false });
    reply.status(202).header('Location', `/v1/emails/${accepted?.id}`);
    return accepted;
  });

  app.post('/emails/batch', async (request, reply) => {
    const idempotencyKey = idempotencyKeyOf(request.headers);
    // The whole batch is validated first: one bad item rejects all, naming /emails/<index>/<field>.
    const { emails } = parseOrThrow(schemas.batch, request.body);
    checkSenders(emails, config.SENDER_DOMAINS);
    limiter.take(request.account, emails.length, reply);
    const accepted = await accept(app, request, emails, { idempotencyKey, body: request.body, batch: true });
    reply.status(202);
    return { data: accepted };
  });

  // The stuck-email audit for this account: accepted, not final, and overdue by STUCK_AFTER_MS.
  app.get<{ Querystring: Record<string, string | undefined> }>('/emails', async (request) => {
    const { stuck, limit = '100' } = request.query;
    const errors = [
      ...(stuck === 'true'
        ? []
        : [{ path: '/stuck', message: 'only stuck=true is supported: list the emails stuck without a final outcome' }]),
      ...(/^[1-9]\d{0,3}$/.test(limit) && Number(limit) <= 1000 ? [] : [{ path: '/limit', message: 'must be an integer from 1 to 1000' }]),
    ];
    if (errors.length > 0) throw Object.assign(new ValidationError(), { errors, detail: `${errors.length} invalid query parameter(s)` });
    let rows: Awaited<ReturnType<typeof stuckEmails>>;
    try {
      rows = await stuckEmails(app.ledger, config.STUCK_AFTER_MS, Number(limit), request.account);
    } catch (error) {
      request.log.warn({ err: error }, 'ledger unavailable');
      throw new LedgerUnavailableError();
    }
    const data: StuckEmail[] = rows.map(({ account: _account, ...email }) => ({
      ...email,
      // Never claimed by a mailer: it still sits where the API produced it.
      kafka: email.kafka ?? { topic: config.EMAILS_TOPIC, partition: app.emailQueue.partitionOf(email.id), offset: null },
    }));
    return { stuckAfterMs: config.STUCK_AFTER_MS, data };
  });

  app.get<{ Params: { id: string } }>('/emails/:id', async (request) => {
    if (!/^[0-9a-f-]{36}$/.test(request.params.id)) throw new NotFoundError();
    let status: Awaited<ReturnType<typeof getStatus>>;
    try {
      status = await getStatus(app.ledger, request.params.id, request.account);
    } catch (error) {
      request.log.warn({ err: error }, 'ledger unavailable');
      throw new LedgerUnavailableError();
    }
    if (!status) throw new NotFoundError();
    return status;
  });
}
