/**
 * Public states of an email, in the ledger and the status API.
 * queued → sending → sent; sending → retrying → sending …; → failed (permanent, or out of attempts).
 */
export const EMAIL_STATES = ['queued', 'sending', 'sent', 'retrying', 'failed'] as const;
export type EmailState = (typeof EMAIL_STATES)[number];

export const FINAL_STATES: readonly EmailState[] = ['sent', 'failed'];

export interface EmailStatus {
  id: string;
  status: EmailState;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  lastError: string | null;
  /** The SMTP server's reply to the final attempt, e.g. "250 2.0.0 Ok: queued as 4F2". */
  smtpResponse: string | null;
  messageId: string | null;
  /** True when a send may have reached the server without our knowing (connection lost after DATA). */
  uncertain: boolean;
}
