import { z } from 'zod';

/**
 * What happened to one recipient of an email. `pending`: not tried yet, or refused with a 4xx while
 * others were taken and to be retried (its reply kept); `accepted`: the SMTP server took it (RCPT
 * 250 and the message's 250); `refused`: refused for good (a 5xx, or still a 4xx at the last
 * attempt; the reply says why); `suppressed`: on the account's suppression list, never handed to SMTP.
 */
export const RECIPIENT_STATES = ['pending', 'accepted', 'refused', 'suppressed'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

/** The name of a state a later version added (an email's or a recipient's: anyEmailStateSchema says why they are read). */
export const addedStateSchema = z.string().regex(/^[a-z_]{1,32}$/);

/** A recipient's state as read back: one of RECIPIENT_STATES, or one a later version added. */
export const anyRecipientStateSchema = z.union([z.enum(RECIPIENT_STATES), addedStateSchema]);

export const recipientOutcomeSchema = z.object({
  address: z.string(),
  status: anyRecipientStateSchema.describe(
    'pending: not tried yet, or deferred by a 4xx and to be retried; accepted; refused (for good); suppressed (never sent)',
  ),
  smtpResponse: z.string().nullable(),
  updatedAt: z.string().meta({ format: 'date-time' }),
});
export type RecipientOutcome = z.output<typeof recipientOutcomeSchema>;

/** Addresses compare case-insensitively in suppression lists and outcomes (everyone's mail servers do). */
export const normalizeAddress = (address: string): string => address.toLowerCase();
