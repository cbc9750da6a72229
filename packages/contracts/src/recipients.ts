import { z } from 'zod';

/**
 * What happened to one recipient of an email. `pending`: not tried yet (or being retried);
 * `accepted`: the SMTP server took it (RCPT 250 and the message's 250); `refused`: RCPT refused
 * it while others were taken (the reply says why, `permanent` whether it was a 5xx);
 * `suppressed`: on the account's suppression list, never handed to SMTP.
 */
export const RECIPIENT_STATES = ['pending', 'accepted', 'refused', 'suppressed'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export const recipientOutcomeSchema = z.object({
  address: z.string(),
  status: z.enum(RECIPIENT_STATES),
  smtpResponse: z.string().nullable(),
  updatedAt: z.string().meta({ format: 'date-time' }),
});
export type RecipientOutcome = z.output<typeof recipientOutcomeSchema>;

/** Addresses compare case-insensitively in suppression lists and outcomes (everyone's mail servers do). */
export const normalizeAddress = (address: string): string => address.toLowerCase();
