import { z } from 'zod';
import { addedStateSchema, recipientOutcomeSchema } from './recipients.js';

/**
 * Public states of an email, in the ledger and the status API.
 * queued → sending → sent; sending → retrying → sending …; → failed (permanent, or out of attempts);
 * → suppressed (every recipient is on the account's suppression list: nothing was handed to SMTP).
 * `sent` means at least one recipient was accepted; the others' outcomes are in `recipients`.
 * `retrying` may already have recipients accepted: the others were deferred (a 4xx) and the retry
 * goes to them alone (services/mailer's partial-delivery.ts); it ends `sent` whatever they come to.
 *
 * Scheduled: scheduled → queued (due: released to the requests topic) → sending …. A cancel or a
 * reschedule is decided against the claim (queued/scheduled → sending) on the same row, so one of
 * them wins: scheduled|queued → canceled, or scheduled|queued → scheduled (new time). From
 * `sending` on it is too late (CANCELABLE_STATES).
 */
export const EMAIL_STATES = ['scheduled', 'queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed', 'canceled'] as const;
export type EmailState = (typeof EMAIL_STATES)[number];

/**
 * A state as read back: one of EMAIL_STATES, or one a later version added. States are only ever
 * added (a migration widens the ledger's check), and mailers are rolled out first, so an API may
 * read a state it does not know during a rollout: it answers with it as stored, where the closed
 * enum failed the whole answer (a 500 from the response schema).
 */
export const anyEmailStateSchema = z.union([z.enum(EMAIL_STATES), addedStateSchema]);

export const FINAL_STATES: readonly EmailState[] = ['sent', 'failed', 'suppressed', 'canceled'];

/** The states a cancel or a reschedule may still change: nothing has been handed to SMTP. */
export const CANCELABLE_STATES = ['scheduled', 'queued'] as const satisfies readonly EmailState[];

const timestamp = z.string().meta({ format: 'date-time' });

export const emailStatusSchema = z.object({
  id: z.string(),
  status: anyEmailStateSchema.describe(
    'One of the states listed, or (read during a rollout) one a later version added: treat an unknown one as not final',
  ),
  attempts: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
  sentAt: timestamp.nullable(),
  lastError: z.string().nullable(),
  /** The SMTP server's reply to the final attempt, e.g. "250 2.0.0 Ok: queued as 4F2". */
  smtpResponse: z.string().nullable().describe("The SMTP server's reply to the final attempt"),
  messageId: z.string().nullable(),
  scheduledAt: timestamp.nullable().describe('For a scheduled email: when it is (or was) due'),
  template: z.object({ id: z.string(), version: z.number().int() }).nullable().describe('The template the email was rendered from, if any'),
  uncertain: z.boolean().describe('True when a send may have reached the server without our knowing (connection lost after DATA)'),
  recipients: z
    .array(recipientOutcomeSchema)
    .describe('The outcome of each recipient (to, cc and bcc), once a mailer has handled the email'),
});
export type EmailStatus = z.output<typeof emailStatusSchema>;

/** An accepted email with no final outcome long after it was due (`GET /v1/emails?stuck=true`). */
export const stuckEmailSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'sending', 'retrying']),
  attempts: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
  nextAttemptAt: timestamp.nullable().describe('For retrying: when the retry fell due'),
  lastError: z.string().nullable(),
  kafka: z
    .object({ topic: z.string(), partition: z.number().int(), offset: z.string().nullable() })
    .nullable()
    .describe('Where the record is: topic and partition always; the offset once a mailer has claimed it'),
});
export type StuckEmail = z.output<typeof stuckEmailSchema>;
