import { MAX_TEMPLATE_SOURCE, templateName, variablesDeclarationSchema } from '@postline/contracts';
import { z } from 'zod';
import { AUTH_THROTTLED, commonErrors, problem } from './problem-schema.js';

const timestamp = z.string().meta({ format: 'date-time' });
const source = (what: string) => z.string().min(1).max(MAX_TEMPLATE_SOURCE).describe(`${what} (Liquid)`);

const content = {
  subject: source('The subject').regex(/^[^\r\n\0]*$/, 'must not contain line breaks'),
  html: source('The HTML body: every {{ output }} is HTML-escaped').nullable().optional(),
  text: source('The plain-text body: nothing is escaped').nullable().optional(),
  variables: variablesDeclarationSchema
    .default({})
    .describe('Every variable the template uses, with its type: a send must give each required one, of that type'),
};

const versionSchema = z.object({
  version: z.number().int(),
  subject: z.string(),
  html: z.string().nullable(),
  text: z.string().nullable(),
  variables: variablesDeclarationSchema,
  createdAt: timestamp,
  publishedAt: timestamp.nullable().describe('Null: the draft (never sent)'),
});

const templateSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
  publishedVersion: z.number().int().nullable().describe('What a send without `version` renders'),
  latestVersion: z.number().int(),
  draft: versionSchema.nullable(),
  published: versionSchema.nullable(),
  versions: z.array(z.object({ version: z.number().int(), createdAt: timestamp, publishedAt: timestamp.nullable() })),
});

const summarySchema = templateSchema.pick({
  id: true,
  name: true,
  createdAt: true,
  updatedAt: true,
  publishedVersion: true,
  latestVersion: true,
});
const params = z.object({ id: z.string().describe('The template id (tmpl_…) or its name') });
const notFound = problem('No such template for this API key');
const badTemplate = problem('Invalid template: a part does not parse, uses an undeclared variable, or reads other files');

/** The /v1/templates routes' schemas (validation and the OpenAPI document). */
export function templateSchemas(registry: z.core.$ZodRegistry<{ id: string }>) {
  registry.add(templateSchema, { id: 'Template' });
  registry.add(versionSchema, { id: 'TemplateVersion' });
  const renderTimeSpent = problem(
    `The API key has used its template render time (EMAIL_ERR_RENDER_TIME_SPENT, TEMPLATE_RENDER_MS_PER_SECOND), or its requests this minute (REQUEST_RATE_LIMIT_PER_MINUTE), ${AUTH_THROTTLED}: retry after Retry-After`,
  );
  return {
    createTemplate: {
      summary: 'Create a template (version 1: a draft, unless publish is true)',
      body: z
        .strictObject({ name: templateName, ...content, publish: z.boolean().default(false) })
        .refine((b) => b.html != null || b.text != null, { message: 'html or text (or both) is required', path: ['text'] }),
      response: {
        201: templateSchema,
        400: badTemplate,
        409: problem('The name is taken, or the account would pass TEMPLATE_STORAGE_BYTES (EMAIL_ERR_LIMIT_REACHED)'),
        ...commonErrors,
        429: renderTimeSpent,
      },
    },
    listTemplates: {
      summary: "This account's templates, newest first",
      querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.object({ data: z.array(summarySchema) }), ...commonErrors },
    },
    getTemplate: {
      summary: 'A template, its draft, its published version and the list of versions',
      params,
      response: { 200: templateSchema, 404: notFound, ...commonErrors },
    },
    getTemplateVersion: {
      summary: 'One version of a template (published or the draft)',
      params: params.extend({ version: z.coerce.number().int().min(1) }),
      response: { 200: versionSchema, 404: notFound, ...commonErrors },
    },
    updateTemplate: {
      summary: 'Edit the draft (a new version if the latest is published); published versions never change',
      params,
      body: z.strictObject({
        name: templateName.optional(),
        subject: content.subject.optional(),
        html: content.html,
        text: content.text,
        variables: variablesDeclarationSchema.optional(),
      }),
      response: {
        200: templateSchema,
        400: badTemplate,
        404: notFound,
        409: problem('The new name is taken, or a new version would pass TEMPLATE_STORAGE_BYTES (EMAIL_ERR_LIMIT_REACHED)'),
        ...commonErrors,
        429: renderTimeSpent,
      },
    },
    publishTemplate: {
      summary: 'Publish the draft: sends without `version` use it from now on; earlier versions stay addressable',
      params,
      response: { 200: templateSchema, 404: notFound, 409: problem('No draft to publish'), ...commonErrors },
    },
    deleteTemplate: {
      summary: 'Delete a template (emails already accepted are rendered and keep going)',
      params,
      response: { 204: z.null().describe('Deleted'), 404: notFound, ...commonErrors },
    },
    renderTemplate: {
      summary: 'Preview: render a version (default: the draft if there is one, else the published version) with these variables',
      params,
      body: z.strictObject({
        version: z.number().int().min(1).optional(),
        variables: z.record(z.string(), z.unknown()).default({}),
      }),
      response: {
        200: z.object({ version: z.number().int(), subject: z.string(), html: z.string().nullable(), text: z.string().nullable() }),
        400: problem('A variable is missing or of the wrong type (named in `errors`), or a render limit was hit'),
        404: notFound,
        ...commonErrors,
        429: renderTimeSpent,
      },
    },
  };
}
