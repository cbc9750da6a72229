import { getStatus } from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import { accept, checkSenders } from '../accept.js';
import type { ApiConfig } from '../config.js';
import { LedgerUnavailableError, NotFoundError } from '../errors.js';
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
