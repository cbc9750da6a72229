import { randomBytes } from 'node:crypto';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  rotateSecret,
  type WebhookEndpoint,
} from '@postline/ledger';
import { targetProblem } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiConfig } from '../config.js';
import { LimitReachedError, WebhookUrlNotAllowedError } from '../errors.js';
import { found, fromLedger } from '../from-ledger.js';
import { uuidv7 } from '../ids.js';
import type { apiSchemas } from '../schemas.js';

/** How long a rotated-out secret still signs deliveries (the header carries both signatures). */
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/** A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** /v1/webhooks: endpoints per API key, their secrets and their deliveries. */
export async function webhookRoutes(
  instance: FastifyInstance,
  { config, schemas }: { config: ApiConfig; schemas: ReturnType<typeof apiSchemas> },
) {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  app.post('/webhooks', { schema: schemas.createWebhook }, async (request, reply) => {
    const { url, events } = request.body;
    // Checked here against the DNS answer of now; the dispatcher checks the address it connects to again.
    const problem = await targetProblem(new URL(url), config.webhookTargets);
    if (problem) throw Object.assign(new WebhookUrlNotAllowedError(), { detail: `url ${problem}` });
    const secret = newSecret();
    const types = events.includes('*') ? ['*'] : [...new Set(events)];
    const endpoint: WebhookEndpoint | null = await fromLedger(() =>
      createEndpoint(
        app.ledger,
        { id: `wh_${uuidv7().replaceAll('-', '')}`, account: request.account, url, events: types, secret },
        config.MAX_WEBHOOK_ENDPOINTS,
      ),
    );
    if (!endpoint) {
      const detail = `at most ${config.MAX_WEBHOOK_ENDPOINTS} webhook endpoints an account (MAX_WEBHOOK_ENDPOINTS): delete one first`;
      throw Object.assign(new LimitReachedError(), { detail });
    }
    request.log.info({ endpointId: endpoint.id }, 'webhook endpoint created');
    reply.status(201).header('Location', `/v1/webhooks/${endpoint.id}`);
    return { ...endpoint, secret };
  });

  app.get('/webhooks', { schema: schemas.listWebhooks }, async (request) => ({
    data: await fromLedger(() => listEndpoints(app.ledger, request.account)),
  }));

  app.get('/webhooks/:id', { schema: schemas.getWebhook }, async (request) =>
    found(await fromLedger(() => getEndpoint(app.ledger, request.account, request.params.id))),
  );

  app.delete('/webhooks/:id', { schema: schemas.deleteWebhook }, async (request, reply) => {
    found(await fromLedger(() => deleteEndpoint(app.ledger, request.account, request.params.id)));
    reply.status(204);
    return null;
  });

  app.post('/webhooks/:id/rotate-secret', { schema: schemas.rotateSecret }, async (request) => {
    const secret = newSecret();
    const expires = new Date(Date.now() + ROTATION_OVERLAP_MS);
    found(await fromLedger(() => rotateSecret(app.ledger, request.account, request.params.id, secret, ROTATION_OVERLAP_MS)));
    return { id: request.params.id, secret, previousSecretExpiresAt: expires.toISOString() };
  });

  app.get('/webhooks/:id/deliveries', { schema: schemas.deliveries }, async (request) => ({
    data: found(
      await fromLedger(() => listDeliveries(app.ledger, request.account, request.params.id, request.query.limit, request.query.emailId)),
    ),
  }));
}
