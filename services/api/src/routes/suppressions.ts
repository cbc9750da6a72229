import { normalizeAddress } from '@postline/contracts';
import { addSuppression, deleteSuppression, listSuppressions } from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { found, fromLedger } from '../from-ledger.js';
import type { apiSchemas } from '../schemas.js';

/** /v1/suppressions: the addresses this API key's emails are never sent to. */
export async function suppressionRoutes(instance: FastifyInstance, { schemas }: { schemas: ReturnType<typeof apiSchemas> }) {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', app.authenticate);

  app.post('/suppressions', { schema: schemas.addSuppression }, async (request, reply) => {
    const { address, reason } = request.body;
    const result = await fromLedger(() => addSuppression(app.ledger, request.account, address, reason));
    reply.status(result.created ? 201 : 200);
    return result.suppression;
  });

  app.get('/suppressions', { schema: schemas.listSuppressions }, async (request) => ({
    data: await fromLedger(() => listSuppressions(app.ledger, request.account, request.query.limit, request.query.after)),
  }));

  app.delete('/suppressions/:address', { schema: schemas.deleteSuppression }, async (request, reply) => {
    const address = normalizeAddress(request.params.address);
    found(await fromLedger(() => deleteSuppression(app.ledger, request.account, address)));
    reply.status(204);
    return null;
  });
}
