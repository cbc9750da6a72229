import { type EmailEvent, type RecipientState, webhookBody } from '@postline/contracts';
import type pg from 'pg';
import { eventColumns } from './event-queries.js';
import type { Queryable } from './transaction.js';

/** Where the record being sent sits: the stuck-email audit reports it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

export type Claim =
  /** `suppressed`: which of the recipients asked about are on the account's suppression list now. */
  | { kind: 'claimed'; attempts: number; suppressed: string[] }
  /** Already final (sent, failed, suppressed or canceled): a redelivery, to skip. */
  | { kind: 'final'; state: 'sent' | 'failed' | 'suppressed' | 'canceled' }
  /** Scheduled for later (a reschedule moved it after its record was produced): park it. */
  | { kind: 'scheduled'; scheduledAt: string }
  /** Another mailer holds a live claim (it is sending this email right now). */
  | { kind: 'busy'; expiresInMs: number };

/**
 * Claims an email for sending: creates its row if the API could not, or takes it from
 * queued/retrying or a due scheduled state, or from a claim that expired (its mailer died mid-send). A claim of our
 * own is taken again (a redelivery to the same process).
 *
 * The same statement writes the email's `queued` event if no one has (the API writes it when its
 * row insert after the ack succeeds) and reads which of `recipients` are suppressed: one round trip.
 */
export async function claim(
  db: pg.Pool,
  id: string,
  account: string,
  mailerId: string,
  ttlMs: number,
  position: KafkaPosition,
  queued: EmailEvent,
  recipients: string[],
): Promise<Claim> {
  const claimed = await db.query<{ attempts: number; suppressed: string[] }>(
    `with claimed as (
       insert into emails (id, account, state, claimed_by, claim_expires_at, kafka_topic, kafka_partition, kafka_offset)
       values ($1, $2, 'sending', $3, now() + $4 * interval '1 millisecond', $5, $6, $7)
       on conflict (id) do update
         set state = 'sending', claimed_by = $3, claim_expires_at = now() + $4 * interval '1 millisecond', updated_at = now(),
             kafka_topic = $5, kafka_partition = $6, kafka_offset = $7
         where emails.state in ('accepting', 'queued', 'retrying')
            or (emails.state = 'scheduled' and emails.scheduled_at <= now())
            or (emails.state = 'sending' and (emails.claim_expires_at < now() or emails.claimed_by = $3))
       returning attempts
     ), queued as (
       insert into email_events (id, email_id, account, type, payload)
       select $8, $1, $2, 'email.queued', $9::jsonb from claimed
       on conflict (id) do nothing
     )
     select attempts,
            array(select address from suppressions where account = $2 and address = any($10::text[])) as suppressed
       from claimed`,
    [id, account, mailerId, ttlMs, position.topic, position.partition, position.offset, queued.id, webhookBody(queued), recipients],
  );
  const row = claimed.rows[0];
  if (row) return { kind: 'claimed', attempts: row.attempts, suppressed: row.suppressed };
  const { rows } = await db.query<{ state: string; expires_in_ms: number | null; scheduled_at: Date | null }>(
    `select state, greatest(0, extract(epoch from (claim_expires_at - now())) * 1000)::float8 as expires_in_ms, scheduled_at
       from emails where id = $1`,
    [id],
  );
  const current = rows[0];
  const state = current?.state;
  if (state === 'sent' || state === 'failed' || state === 'suppressed' || state === 'canceled') return { kind: 'final', state };
  if (state === 'scheduled' && current?.scheduled_at) return { kind: 'scheduled', scheduledAt: current.scheduled_at.toISOString() };
  return { kind: 'busy', expiresInMs: current?.expires_in_ms ?? 0 };
}

export interface RecipientWrite {
  address: string;
  status: RecipientState;
  smtpResponse: string | null;
}

export interface Outcome {
  smtpResponse?: string | null;
  lastError?: string | null;
  messageId?: string | null;
  /** The connection broke after the message was handed over: it may have been delivered. */
  uncertain?: boolean;
  /** For a retry: when it is due. */
  nextAttemptAt?: Date | null;
  /** The recipients whose outcome this attempt decided. */
  recipients?: RecipientWrite[];
  /** The events of this state change: written in the same transaction, so none is ever lost. */
  events?: EmailEvent[];
  /** Recipients to add to the account's suppression list (hard bounces). */
  suppress?: { address: string; reason: string; smtpResponse: string | null }[];
}

export type FinalState = 'sent' | 'retrying' | 'failed' | 'suppressed';

/**
 * Records the outcome of a claimed email: its state, its recipients' outcomes, its events and
 * any new suppressions, atomically. False: our claim had expired and another mailer took
 * the email over; nothing was written (it records its own outcome).
 */
export async function recordOutcome(
  db: Queryable,
  id: string,
  account: string,
  mailerId: string,
  state: FinalState,
  o: Outcome,
): Promise<boolean> {
  // One statement, so one round trip and atomic by itself: the state, the recipients, the
  // suppressions and the events are written only if the update found our claim (0 rows: the
  // claim was lost, and nothing is written). Measured: the transaction it replaces made five
  // round trips per email (begin, three statements, commit), the mailer's largest ledger cost.
  const recipients = o.recipients ?? [];
  const suppress = o.suppress ?? [];
  const { rows } = await db.query<{ recorded: boolean }>(
    `with updated as (
       update emails set state = $3, attempts = attempts + case when $3 = 'suppressed' then 0 else 1 end,
         claimed_by = null, claim_expires_at = null,
         smtp_response = coalesce($4, smtp_response), last_error = $5, message_id = coalesce($6, message_id),
         uncertain = uncertain or $7, sent_at = case when $3 = 'sent' then now() else sent_at end, updated_at = now(),
         next_attempt_at = $8
       where id = $1 and claimed_by = $2
       returning id
     ), recipients as (
       insert into email_recipients (email_id, address, status, smtp_response)
       select $1, t.* from unnest($9::text[], $10::text[], $11::text[]) as t where exists (select from updated)
       on conflict (email_id, address) do update set status = excluded.status, smtp_response = excluded.smtp_response, updated_at = now()
     ), suppressed as (
       insert into suppressions (account, address, reason, email_id, smtp_response)
       select $12, a, r, $1, s from unnest($13::text[], $14::text[], $15::text[]) as t(a, r, s) where exists (select from updated)
       on conflict (account, address) do nothing
     ), events as (
       insert into email_events (id, email_id, account, type, payload)
       select t.* from unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::jsonb[]) as t where exists (select from updated)
       on conflict (id) do nothing
     )
     select exists (select from updated) as recorded`,
    [
      id,
      mailerId,
      state,
      o.smtpResponse ?? null,
      o.lastError ?? null,
      o.messageId ?? null,
      o.uncertain ?? false,
      o.nextAttemptAt ?? null,
      recipients.map((r) => r.address),
      recipients.map((r) => r.status),
      recipients.map((r) => r.smtpResponse),
      account,
      suppress.map((x) => x.address),
      suppress.map((x) => x.reason),
      suppress.map((x) => x.smtpResponse),
      ...eventColumns(o.events ?? []),
    ],
  );
  return rows[0]?.recorded === true;
}

/** Gives an email back untouched (nothing was sent: the SMTP server was unreachable). */
export async function releaseClaim(db: pg.Pool, id: string, mailerId: string): Promise<void> {
  await db.query(
    `update emails set state = case when attempts > 0 then 'retrying' else 'queued' end, claimed_by = null, claim_expires_at = null, updated_at = now()
     where id = $1 and claimed_by = $2 and state = 'sending'`,
    [id, mailerId],
  );
}
