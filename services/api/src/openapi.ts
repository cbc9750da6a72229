import { EMAIL_STATES } from '@postline/contracts';
import { z } from 'zod';
import type { apiSchemas } from './schemas.js';

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable error code, e.g. EMAIL_ERR_VALIDATION' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string', description: 'JSON pointer' }, message: { type: 'string' } },
      },
    },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Retries with the same key get the same id(s) and never a second email; the same key with another body is a 409.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};
const acceptErrors = {
  '400': problemResponse('Invalid request (every bad field is listed in `errors`) or malformed JSON'),
  '401': problemResponse('Missing or wrong API key'),
  '403': problemResponse('Sender domain not allowed'),
  '409': problemResponse('Idempotency-Key reused with a different body'),
  '413': problemResponse('Body too large'),
  '415': problemResponse('Not application/json'),
  '429': problemResponse('Rate limit exceeded (see RateLimit-* and Retry-After headers)'),
  '503': problemResponse('Kafka did not acknowledge in time: not confirmed — retry with the same Idempotency-Key'),
};

/** OpenAPI 3.1, generated from the same zod schemas that validate requests. */
export function openApiDocument(schemas: ReturnType<typeof apiSchemas>) {
  const json = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return {
    openapi: '3.1.0',
    info: {
      title: 'postline',
      version: '1.0.0',
      description: 'Send email reliably: a 202 means the email is stored on three Kafka brokers and will be sent.',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' } },
      schemas: {
        EmailRequest: json(schemas.email),
        BatchRequest: json(schemas.batch),
        Accepted: json(schemas.accepted),
        EmailStatus: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: [...EMAIL_STATES] },
            attempts: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            sentAt: { type: ['string', 'null'], format: 'date-time' },
            lastError: { type: ['string', 'null'] },
            smtpResponse: { type: ['string', 'null'] },
            messageId: { type: ['string', 'null'] },
            uncertain: { type: 'boolean' },
          },
        },
        StuckEmail: {
          type: 'object',
          required: ['id', 'status', 'attempts', 'createdAt', 'updatedAt', 'nextAttemptAt', 'lastError', 'kafka'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['queued', 'sending', 'retrying'] },
            attempts: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            nextAttemptAt: { type: ['string', 'null'], format: 'date-time', description: 'For retrying: when the retry fell due' },
            lastError: { type: ['string', 'null'] },
            kafka: {
              type: ['object', 'null'],
              description: 'Where the record is; the offset once a mailer has claimed it',
              properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: ['string', 'null'] } },
            },
          },
        },
        Problem: problem,
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/v1/emails': {
        get: {
          summary: 'Stuck emails: accepted, with no final outcome STUCK_AFTER_MS after they were due (oldest first)',
          parameters: [
            { name: 'stuck', in: 'query', required: true, schema: { type: 'string', enum: ['true'] } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: {
            '200': {
              description: "This account's stuck emails",
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      stuckAfterMs: { type: 'integer' },
                      data: { type: 'array', items: { $ref: '#/components/schemas/StuckEmail' } },
                    },
                  },
                },
              },
            },
            '400': problemResponse('stuck is not true, or limit is out of range'),
            '401': problemResponse('Missing or wrong API key'),
            '503': problemResponse('The ledger is unavailable'),
          },
        },
        post: {
          summary: 'Send an email',
          parameters: [idempotencyKey],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/EmailRequest' } } } },
          responses: {
            '202': {
              description: 'Accepted: acknowledged by the Kafka in-sync replicas (acks=all)',
              headers: { Location: { schema: { type: 'string' } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } },
            },
            ...acceptErrors,
          },
        },
      },
      '/v1/emails/batch': {
        post: {
          summary: 'Send up to MAX_BATCH_SIZE emails at once (validated as a whole first)',
          parameters: [idempotencyKey],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchRequest' } } } },
          responses: {
            '202': {
              description: 'All accepted, one entry per email, in order',
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Accepted' } } } },
                },
              },
            },
            ...acceptErrors,
          },
        },
      },
      '/v1/emails/{id}': {
        get: {
          summary: "An email's delivery status",
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'Status', content: { 'application/json': { schema: { $ref: '#/components/schemas/EmailStatus' } } } },
            '401': problemResponse('Missing or wrong API key'),
            '404': problemResponse('No such email for this API key'),
            '503': problemResponse('The ledger is unavailable'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'Up' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness (booted: ledger migrated, Kafka producer connected, topic has leaders)',
          description:
            'The server listens at once and boots in the background (waiting for Kafka and Postgres up to BOOT_TIMEOUT_MS); `starting` lists the boot steps still running. Until ready, /v1 routes answer 503 EMAIL_ERR_STARTING with Retry-After: 1; /healthz answers 200 throughout.',
          security: [],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready (still booting, or Kafka unavailable)' } },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'Metrics' } } } },
    },
  };
}
