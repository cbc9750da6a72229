import { randomBytes } from 'node:crypto';
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplates,
  publishTemplate,
  type StorageLimit,
  type TemplateContent,
  updateDraft,
  VERSION_OVERHEAD_BYTES,
} from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiConfig } from '../config.js';
import { LimitReachedError, NoDraftError, TemplateNameTakenError } from '../errors.js';
import { found, fromLedger } from '../from-ledger.js';
import { holdRoom } from '../plugins/body-budget.js';
import type { apiSchemas } from '../schemas.js';
import { MAX_RENDERED_EMAIL_BYTES, source } from '../templates/render.js';

const templateId = () => `tmpl_${randomBytes(12).toString('hex')}`;

/** /v1/templates: stored, versioned templates; sends render them at the API (accept.ts). */
export async function templateRoutes(
  instance: FastifyInstance,
  { config, schemas }: { config: ApiConfig; schemas: ReturnType<typeof apiSchemas> },
) {
  const app = instance.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', app.authenticate);
  const storage: StorageLimit = {
    bytes: config.TEMPLATE_STORAGE_BYTES,
    refuse: (stored) =>
      Object.assign(new LimitReachedError(), {
        detail: `the account's template versions count ${stored} bytes (their source, and ${VERSION_OVERHEAD_BYTES / 1024} KiB each), and TEMPLATE_STORAGE_BYTES allows ${config.TEMPLATE_STORAGE_BYTES}: delete a template first`,
      }),
  };

  app.post('/templates', { schema: schemas.createTemplate }, async (request, reply) => {
    const { name, publish, ...body } = request.body;
    const content: TemplateContent = { subject: body.subject, html: body.html ?? null, text: body.text ?? null, variables: body.variables };
    // Every part must parse and use only declared variables (on a template thread, charged to the account's render time).
    await app.templates.check(request.account, content);
    const created = await fromLedger(() => createTemplate(app.ledger, templateId(), request.account, name, content, publish, storage));
    if (!created) throw new TemplateNameTakenError();
    reply.status(201).header('Location', `/v1/templates/${created.id}`);
    return created;
  });

  app.get('/templates', { schema: schemas.listTemplates }, async (request) => ({
    data: await fromLedger(() => listTemplates(app.ledger, request.account, request.query.limit)),
  }));

  app.get('/templates/:id', { schema: schemas.getTemplate }, async (request) =>
    found(await fromLedger(() => getTemplate(app.ledger, request.account, request.params.id))),
  );

  app.get('/templates/:id/versions/:version', { schema: schemas.getTemplateVersion }, async (request) => {
    const { id, version } = request.params;
    const { id: _id, ...v } = found(await fromLedger(() => getTemplateVersion(app.ledger, request.account, id, version)));
    return v;
  });

  app.patch('/templates/:id', { schema: schemas.updateTemplate }, async (request) => {
    // The check runs inside the transaction, on the draft as it will be; its 400 passes fromLedger.
    const check = (content: TemplateContent) => app.templates.check(request.account, content);
    const updated = await fromLedger(() => updateDraft(app.ledger, request.account, request.params.id, request.body, storage, check));
    if (updated === false) throw new TemplateNameTakenError();
    return found(updated);
  });

  app.post('/templates/:id/publish', { schema: schemas.publishTemplate }, async (request) => {
    const published = await fromLedger(() => publishTemplate(app.ledger, request.account, request.params.id));
    if (published === false) throw new NoDraftError();
    return found(published);
  });

  app.delete('/templates/:id', { schema: schemas.deleteTemplate }, async (request, reply) => {
    found(await fromLedger(() => deleteTemplate(app.ledger, request.account, request.params.id)));
    reply.status(204);
    return null;
  });

  app.post('/templates/:id/render', { schema: schemas.renderTemplate }, async (request, reply) => {
    const { version, variables } = request.body;
    const template = found(await fromLedger(() => getTemplate(app.ledger, request.account, request.params.id)));
    const chosen =
      version === undefined
        ? (template.draft ?? template.published)
        : await fromLedger(() => getTemplateVersion(app.ledger, request.account, template.id, version));
    const v = found(chosen);
    // A published version comes from the send path's cache; a draft is compiled for this preview only.
    // A preview holds room for what it renders as a send does (accept.ts), until its answer is sent.
    const release = await holdRoom(app.bodyBudget, MAX_RENDERED_EMAIL_BYTES, request.account);
    reply.raw.once('close', () => release());
    const [out] = await app.templates.render(request.account, [source(template.id, v)], [{ version: 0, variables, at: '' }]);
    const { rendered, bytes } = out as NonNullable<typeof out>;
    release(bytes);
    return { version: v.version, subject: rendered.subject, html: rendered.html ?? null, text: rendered.text ?? null };
  });
}
