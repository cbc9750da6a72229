import { addrSpecProblem, anyEventTypeSchema, EVENT_TYPES, eventDataSchema, normalizeAddress } from '@postline/contracts';
import { z } from 'zod';
import { commonErrors, problem } from './problem-schema.js';

const timestamp = z.string().meta({ format: 'date-time' });
const limit = (max: number, fallback: number) =>
  z.coerce
    .number({ error: `must be an integer from 1 to ${max}` })
    .int(`must be an integer from 1 to ${max}`)
    .min(1, `must be an integer from 1 to ${max}`)
    .max(max, `must be an integer from 1 to ${max}`)
    .default(fallback);

export const listedEventSchema = z.object({
  id: z.string().describe('The event id: deterministic, and the webhook-id of its deliveries'),
  type: anyEventTypeSchema.describe('One of the event types; later versions may add types (ignore those you do not know)'),
  timestamp,
  data: eventDataSchema,
});

const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  createdAt: timestamp,
  disabledAt: timestamp.nullable().describe('Set when the receiver answered 410 Gone: nothing more is delivered'),
  disabledReason: z.string().nullable(),
});

const deliverySchema = z.object({
  eventId: z.string(),
  eventType: z.string(),
  emailId: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable().describe("The receiver's HTTP status on the last attempt (null: no answer)"),
  lastLatencyMs: z.number().int().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp.nullable().describe('For pending deliveries: when the next attempt is due'),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const suppressionSchema = z.object({
  address: z.string(),
  reason: z.string().describe('hard_bounce (a refusal or a bounce report), complaint (a feedback report), or what was given by hand'),
  emailId: z.string().nullable().describe('The email whose hard bounce added it'),
  smtpResponse: z.string().nullable(),
  createdAt: timestamp,
});

const address = z
  .string()
  .max(320)
  .superRefine((a, ctx) => {
    const reason = addrSpecProblem(a);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  })
  .transform(normalizeAddress);

const idParams = z.object({ id: z.string().max(64) });

/** The route schemas of events, webhooks and suppressions (they generate the OpenAPI document too). */
export function resultSchemas(registry: z.core.$ZodRegistry<{ id: string }>) {
  registry.add(listedEventSchema, { id: 'EmailEvent' });
  registry.add(endpointSchema, { id: 'WebhookEndpoint' });
  registry.add(deliverySchema, { id: 'WebhookDelivery' });
  registry.add(suppressionSchema, { id: 'Suppression' });
  const notFound = problem('No such resource for this API key');
  return {
    events: {
      summary: "An email's events, in the order they happened",
      params: idParams,
      response: { 200: z.object({ data: z.array(listedEventSchema) }), 404: notFound, ...commonErrors },
    },
    createWebhook: {
      summary: 'Register a webhook endpoint; the answer holds its signing secret, shown only this once',
      body: z.strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
        events: z
          .array(z.enum([...EVENT_TYPES, '*']))
          .min(1)
          .max(EVENT_TYPES.length + 1)
          .describe('Event types to receive; ["*"] for all'),
      }),
      response: {
        201: endpointSchema.extend({ secret: z.string().describe('whsec_<base64>: verify signatures with it (Standard Webhooks)') }),
        400: problem('Invalid body, or a URL that resolves to a loopback, private, link-local or metadata address'),
        409: problem('The account has MAX_WEBHOOK_ENDPOINTS endpoints already (EMAIL_ERR_LIMIT_REACHED): delete one first'),
        ...commonErrors,
      },
    },
    listWebhooks: {
      summary: 'Webhook endpoints of this API key',
      response: { 200: z.object({ data: z.array(endpointSchema) }), ...commonErrors },
    },
    getWebhook: { summary: 'One webhook endpoint', params: idParams, response: { 200: endpointSchema, 404: notFound, ...commonErrors } },
    deleteWebhook: {
      summary: 'Delete an endpoint (its pending deliveries are dropped)',
      params: idParams,
      response: { 204: z.null().describe('Deleted'), 404: notFound, ...commonErrors },
    },
    rotateSecret: {
      summary: 'A new signing secret; the previous one also signs for 24 hours',
      params: idParams,
      response: {
        200: z.object({ id: z.string(), secret: z.string(), previousSecretExpiresAt: timestamp }),
        404: notFound,
        ...commonErrors,
      },
    },
    deliveries: {
      summary: "An endpoint's deliveries, newest first: status code, latency, next retry",
      params: idParams,
      querystring: z.strictObject({ limit: limit(1000, 100), emailId: z.string().max(64).optional().describe("Only this email's events") }),
      response: { 200: z.object({ data: z.array(deliverySchema) }), 400: problem('limit out of range'), 404: notFound, ...commonErrors },
    },
    addSuppression: {
      summary: 'Suppress an address: mailers skip it from now on',
      body: z.strictObject({ address, reason: z.string().min(1).max(200).default('manual') }),
      response: {
        201: suppressionSchema.describe('Added'),
        200: suppressionSchema.describe('Already suppressed (kept as it was)'),
        400: problem('Invalid address'),
        ...commonErrors,
      },
    },
    listSuppressions: {
      summary: 'Suppressed addresses, by address (page with `after`)',
      querystring: z.strictObject({ limit: limit(1000, 100), after: z.string().max(320).optional() }),
      response: { 200: z.object({ data: z.array(suppressionSchema) }), 400: problem('limit out of range'), ...commonErrors },
    },
    deleteSuppression: {
      summary: 'Remove an address from the list: it may be sent to again',
      params: z.object({ address: z.string().max(320) }),
      response: { 204: z.null().describe('Removed'), 404: notFound, ...commonErrors },
    },
  };
}
