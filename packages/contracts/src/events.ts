import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Every state change of an email is one event (README, "Events and webhooks"). Types are only
 * ever added, never renamed: webhook receivers outside this repository switch on them.
 */
export const EVENT_TYPES = [
  'email.queued',
  'email.scheduled',
  'email.sent',
  'email.delivery_delayed',
  'email.failed',
  'email.bounced',
  'email.suppressed',
  'email.uncertain',
  'email.canceled',
  'email.complained',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const timestamp = z.string().meta({ format: 'date-time' });

export const eventDataSchema = z.looseObject({
  emailId: z.string(),
  recipient: z
    .string()
    .optional()
    .describe(
      'Set on per-recipient events (email.bounced, email.suppressed, and email.delivery_delayed or email.uncertain about one recipient of an email sent in parts)',
    ),
  smtpResponse: z.string().optional().describe("The SMTP server's reply, where there is one"),
  tags: z.record(z.string(), z.string()).optional(),
  /** Exactly one event of each email has `final: true`: the one that gave the email its final state. */
  final: z.boolean().optional().describe("True on exactly one event per email: the one that set the email's final state"),
  scheduledAt: timestamp.optional().describe('On email.scheduled: the due time it set'),
  bounceType: z
    .enum(['hard', 'permanent', 'transient'])
    .optional()
    .describe('On email.bounced: hard (the address does not exist: suppressed), permanent (any other 5xx), transient (4xx, soft)'),
  status: z.string().optional().describe('On email.bounced from a delivery status notification: its Status code (RFC 3463, e.g. 5.1.1)'),
  feedbackType: z.string().optional().describe("On email.complained: the feedback report's Feedback-Type (abuse, fraud, …)"),
  relay: z.string().optional().describe("On an attempt's event (sent, delivery_delayed, uncertain, failed): the relay that answered"),
  relaysTried: z
    .array(z.string())
    .optional()
    .describe('When the attempt failed over: every relay it tried, in order (each failed before DATA but the last)'),
});
export type EventData = z.output<typeof eventDataSchema>;

/** What a webhook receives (the body of the POST) and what GET /v1/emails/{id}/events lists with its id. */
export const webhookPayloadSchema = z.object({
  type: z.enum(EVENT_TYPES),
  timestamp,
  data: eventDataSchema,
});
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

/** An event as stored in the outbox and carried on the events topic (keyed by email id). */
export const emailEventSchema = webhookPayloadSchema.extend({
  /** Deterministic (eventId()): a redelivery or a republish carries the same id, and it is the webhook-id. */
  id: z.string(),
  /** The API key's name: whose webhooks receive it. Never sent to a receiver. */
  account: z.string(),
});
export type EmailEvent = z.output<typeof emailEventSchema>;

/**
 * An event type as read back (off the topic, out of the ledger): one of EVENT_TYPES, or one a later
 * version added. Types are only ever added, and during a rollout a newer mailer may write one before
 * the dispatchers and APIs are upgraded: they pass it on as it came, where refusing it would drop
 * it for good (a dispatcher commits past it) or fail the whole answer (an API's event list).
 */
export const anyEventTypeSchema = z.union([z.enum(EVENT_TYPES), z.string().regex(/^email\.[a-z_]{1,64}$/)]);

/** An event as a webhook dispatcher reads it off the topic. */
export const relayedEventSchema = emailEventSchema.extend({ type: anyEventTypeSchema });
export type RelayedEvent = z.output<typeof relayedEventSchema>;

/**
 * The id of an event, derived from what makes it unique: the email, the type, and the recipient
 * or the attempt it is about. Whoever writes it, however many times, writes the same id.
 */
export function eventId(emailId: string, type: EventType, discriminator: string | number = ''): string {
  const h = createHash('sha256').update(`${emailId}\0${type}\0${discriminator}`).digest('base64url');
  return `evt_${h.slice(0, 32)}`;
}

/**
 * The payload (the event without the fields that stay inside the system) as JSON: what the outbox
 * stores and, byte for byte, what a webhook receives and is signed over.
 */
export const webhookBody = (event: Pick<RelayedEvent, 'type' | 'timestamp' | 'data'>): string =>
  JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });

/** Builds one event of an email: its id follows from the arguments. */
export function emailEvent(
  account: string,
  type: EventType,
  data: EventData,
  at: Date | string,
  discriminator: string | number = data.recipient ?? '',
): EmailEvent {
  const when = typeof at === 'string' ? at : at.toISOString();
  return { id: eventId(data.emailId, type, discriminator), account, type, timestamp: when, data };
}

/** An email's `queued` event: the API and a mailer (whichever records the email first) write the same one. */
export function queuedEvent(e: {
  id: string;
  account: string;
  acceptedAt: string;
  email: { tags?: Record<string, string> | undefined };
}): EmailEvent {
  const data: EventData = { emailId: e.id };
  if (e.email.tags) data.tags = e.email.tags;
  return emailEvent(e.account, 'email.queued', data, e.acceptedAt);
}

/** A schedule was set or moved: one event per due time (the discriminator), so a repeat is deduped. */
export function scheduledEvent(
  account: string,
  emailId: string,
  scheduledAt: string,
  at: Date | string,
  tags?: Record<string, string>,
): EmailEvent {
  const data: EventData = { emailId, scheduledAt };
  if (tags) data.tags = tags;
  return emailEvent(account, 'email.scheduled', data, at, scheduledAt);
}

/** The email was canceled before any mailer claimed it: its final event. */
export function canceledEvent(account: string, emailId: string, at: Date | string): EmailEvent {
  return emailEvent(account, 'email.canceled', { emailId, final: true }, at, '');
}

/** Record headers on the events topic: a consumer routes without parsing the value. */
export const EVENT_HEADERS = { 'content-type': 'application/json', 'event-version': '1' } as const;
