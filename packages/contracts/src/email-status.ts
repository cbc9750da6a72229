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

/** An accepted email with no final outcome long after it was due (`GET /v1/emails?stuck=true`). */
export interface StuckEmail {
  id: string;
  status: 'queued' | 'sending' | 'retrying';
  attempts: number;
  createdAt: string;
  updatedAt: string;
  /** For `retrying`: when the retry fell due. */
  nextAttemptAt: string | null;
  lastError: string | null;
  /** Where the record is: topic and partition always; the offset once a mailer has claimed it. */
  kafka: { topic: string; partition: number; offset: string | null } | null;
}
