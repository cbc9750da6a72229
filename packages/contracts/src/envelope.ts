import { z } from 'zod';
import { legacyEmailSchema, queuedEmailSchema } from './email-request.js';
import { renderedFromSchema } from './templates.js';

export const ENVELOPE_VERSION = 2;

const meta = {
  id: z.string().min(1).max(64),
  /** The API key's name (never its secret). */
  account: z.string().min(1),
  acceptedAt: z.string().datetime(),
  idempotencyKey: z.string().optional(),
  /** Deliveries so far; 0 on the requests topic, n on the retry topic. */
  attempt: z.number().int().min(0).default(0),
  /** On the retry topic: not to be sent before this time. */
  notBefore: z.string().datetime().optional(),
  /**
   * Requested send time, as accepted. The ledger's copy is the one that counts (a PATCH may have
   * moved it, or a cancel ended it); this one only lets a mailer park an email the API could not record.
   */
  scheduledAt: z.string().datetime().optional(),
  /** The template the email was rendered from, at the API: the email itself is already rendered. */
  template: renderedFromSchema.optional(),
  /**
   * On the retry topic, after an attempt whose outcome was uncertain (DATA began, no reply): the
   * relay that may have delivered it. Every later attempt goes to that relay only, with the same
   * Message-ID, so a relay's duplicate can be recognised and no second relay ever sends it.
   */
  relay: z.string().min(1).max(32).optional(),
};

/**
 * What travels on the Kafka topics: the parsed request plus what the API decided (the id, the
 * account, when it was accepted). The record key is the email id, so all deliveries of one
 * email land on one partition, in order. The email is validated against the hard upper bounds
 * only: the mailer applies this deployment's policy itself (policy.ts).
 */
const currentEnvelope = z.strictObject({ v: z.literal(ENVELOPE_VERSION), ...meta, email: queuedEmailSchema });

/**
 * Version 1 (round 1) carried addresses as strings. Records of it may still sit on a topic
 * after an upgrade; they are read through the same strict parser as a request, so a string no
 * API would accept now is refused here too (and dead-lettered), never handed to nodemailer.
 */
const legacyEnvelope = z
  .strictObject({ v: z.literal(1), ...meta, email: legacyEmailSchema })
  .transform((e) => ({ ...e, v: ENVELOPE_VERSION as typeof ENVELOPE_VERSION }));

export const envelopeSchema = z.discriminatedUnion('v', [currentEnvelope, legacyEnvelope]);

export type Envelope = z.output<typeof currentEnvelope>;

/** Kafka record headers that tell a consumer what it is reading without parsing it. */
export const ENVELOPE_HEADERS = { 'content-type': 'application/json', 'envelope-version': String(ENVELOPE_VERSION) } as const;
