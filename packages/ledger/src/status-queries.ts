import type { EmailStatus } from '@postline/contracts';
import type pg from 'pg';
import { prepared } from './prepared.js';

export type Reservation = { kind: 'new' } | { kind: 'existing'; sameRequest: boolean; accepted: boolean };

const reserveStatement = prepared(
  'reserve',
  `insert into emails (id, account, state, request_hash) values ($1, $2, 'accepting', $3)
     on conflict (id) do nothing returning id`,
);

const reservedStatement = prepared('reserve-existing', 'select request_hash, state from emails where id = $1');

/**
 * Reserves an id derived from an Idempotency-Key before anything is produced. Concurrent
 * requests with the same key race on the primary key; exactly one wins, the others learn
 * whether they carried the same request (→ same answer) or another (→ 409).
 */
export async function reserve(db: pg.Pool, id: string, account: string, requestHash: string): Promise<Reservation> {
  const inserted = await db.query(reserveStatement([id, account, requestHash]));
  if (inserted.rowCount === 1) return { kind: 'new' };
  const { rows } = await db.query<{ request_hash: string | null; state: string }>(reservedStatement([id]));
  const row = rows[0];
  // The row can only be missing if retention deleted it in between: treat as new.
  if (!row) return { kind: 'new' };
  // No hash: the row was made without a reservation (the ledger was unreachable when that request
  // was accepted, so the mailer's claim made it). The key's id is the same; only the 409 check is
  // lost, as documented. Calling it a conflict answered a client's retry after a 503 with a 409.
  const sameRequest = row.request_hash === null || row.request_hash === requestHash;
  return { kind: 'existing', sameRequest, accepted: row.state !== 'accepting' };
}

/** An email's row as the status reads it (`STATUS_COLUMNS`). */
export interface StatusRow {
  id: string;
  /** One of EmailState, or one a later version added (the status schema passes it on). */
  state: string;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
  last_error: string | null;
  smtp_response: string | null;
  message_id: string | null;
  uncertain: boolean;
  scheduled_at: Date | null;
  template_id: string | null;
  template_version: number | null;
}

export interface RecipientRow {
  address: string;
  status: string;
  smtp_response: string | null;
  updated_at: Date;
}

export const STATUS_COLUMNS = `id, state, attempts, created_at, updated_at, sent_at, last_error, smtp_response, message_id, uncertain,
            scheduled_at, template_id, template_version`;

const statusStatement = prepared(
  'status',
  `select ${STATUS_COLUMNS}
     from emails where id = $1 and account = $2 and state <> 'accepting'`,
);

const statusRecipientsStatement = prepared(
  'status-recipients',
  'select address, status, smtp_response, updated_at from email_recipients where email_id = $1 order by address',
);

/** The status of one of `account`'s emails; another account's email is as unknown as a missing one. */
export async function getStatus(db: pg.Pool, id: string, account: string): Promise<EmailStatus | null> {
  const { rows } = await db.query<StatusRow>(statusStatement([id, account]));
  const r = rows[0];
  if (!r) return null;
  const recipients = await db.query<RecipientRow>(statusRecipientsStatement([id]));
  return toEmailStatus(r, recipients.rows);
}

export function toEmailStatus(r: StatusRow, recipients: readonly RecipientRow[]): EmailStatus {
  return {
    id: r.id,
    status: r.state,
    attempts: r.attempts,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    sentAt: r.sent_at?.toISOString() ?? null,
    lastError: r.last_error,
    smtpResponse: r.smtp_response,
    messageId: r.message_id,
    scheduledAt: r.scheduled_at?.toISOString() ?? null,
    template: r.template_id !== null && r.template_version !== null ? { id: r.template_id, version: r.template_version } : null,
    uncertain: r.uncertain,
    recipients: recipients.map((x) => ({
      address: x.address,
      status: x.status,
      smtpResponse: x.smtp_response,
      updatedAt: x.updated_at.toISOString(),
    })),
  };
}
