import { z } from 'zod';
import { emailRequestSchema } from './email-request.js';

export const ENVELOPE_VERSION = 1;

/**
 * What travels on the Kafka topics: the validated request plus what the API decided
 * (the id, the account, when it was accepted). The record key is the email id, so all
 * deliveries of one email land on one partition, in order.
 */
export const envelopeSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  id: z.string().min(1).max(64),
  /** The API key's name (never its secret). */
  account: z.string().min(1),
  acceptedAt: z.string().datetime(),
  idempotencyKey: z.string().optional(),
  /** Deliveries so far; 0 on the requests topic, n on the retry topic. */
  attempt: z.number().int().min(0).default(0),
  /** On the retry topic: not to be sent before this time. */
  notBefore: z.string().datetime().optional(),
  // The mailer must accept whatever the API accepted, whatever its configured limits, so the
  // envelope is validated against the hard upper bounds only.
  email: emailRequestSchema({ maxRecipients: 1000, maxSubjectLength: 998, maxAttachments: 100 }),
});

export type Envelope = z.output<typeof envelopeSchema>;

/** Kafka record headers that tell a consumer what it is reading without parsing it. */
export const ENVELOPE_HEADERS = { 'content-type': 'application/json', 'envelope-version': String(ENVELOPE_VERSION) } as const;
