import type { EmailEvent, RecipientState } from '@postline/contracts';
import { eventColumns } from './event-queries.js';
import { prepared } from './prepared.js';
import type { Queryable } from './transaction.js';

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
  /** The events of this state change: written in the same statement, so none is ever lost. */
  events?: EmailEvent[];
  /** Recipients to add to the account's suppression list (hard bounces). */
  suppress?: { address: string; reason: string; smtpResponse: string | null }[];
}

export type FinalState = 'sent' | 'retrying' | 'failed' | 'suppressed';

/** One claimed email's outcome to record. */
export interface OutcomeRecord {
  id: string;
  account: string;
  state: FinalState;
  outcome: Outcome;
}

const outcomesStatement = prepared(
  'record-outcomes',
  `with input as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[])
         as i(id, state, smtp_response, last_error, message_id, uncertain, next_attempt_at)
     ), updated as (
       update emails e set state = i.state, attempts = e.attempts + case when i.state = 'suppressed' then 0 else 1 end,
         claimed_by = null, claim_expires_at = null,
         smtp_response = coalesce(i.smtp_response, e.smtp_response), last_error = i.last_error,
         message_id = coalesce(i.message_id, e.message_id), uncertain = e.uncertain or i.uncertain,
         sent_at = case when i.state = 'sent' then now() else e.sent_at end, updated_at = now(), next_attempt_at = i.next_attempt_at,
         attempted_position = e.kafka_topic || '/' || e.kafka_partition || '/' || e.kafka_offset
       from input i
       where e.id = i.id and e.claimed_by = $1
       returning e.id
     ), recipients as (
       insert into email_recipients (email_id, address, status, smtp_response)
       select * from unnest($9::text[], $10::text[], $11::text[], $12::text[]) as t(email_id, address, status, smtp_response)
        where email_id in (select id from updated)
       on conflict (email_id, address) do update set status = excluded.status, smtp_response = excluded.smtp_response, updated_at = now()
     ), suppressed as (
       insert into suppressions (account, address, reason, email_id, smtp_response)
       select * from unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[]) as t(account, address, reason, email_id, smtp_response)
        where email_id in (select id from updated)
       on conflict (account, address) do nothing
     ), events as (
       insert into email_events (id, email_id, account, type, payload)
       select * from unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::jsonb[]) as t(id, email_id, account, type, payload)
        where email_id in (select id from updated)
       on conflict (id) do nothing
     )
     select id from updated`,
);

/**
 * Records the outcomes of claimed emails: each one's state, its recipients' outcomes, its events
 * and any new suppressions. One statement for all of them, so one round trip and one commit, and
 * atomic by itself. Each email's writes happen only if the update found its claim still ours:
 * false for an email whose claim had expired and another mailer took over (nothing is written for
 * it; that mailer records its own). The ids must be distinct.
 */
export async function recordOutcomes(db: Queryable, mailerId: string, records: OutcomeRecord[]): Promise<boolean[]> {
  const recipients = records.flatMap((r) => (r.outcome.recipients ?? []).map((x) => ({ id: r.id, ...x })));
  const suppress = records.flatMap((r) => (r.outcome.suppress ?? []).map((x) => ({ id: r.id, account: r.account, ...x })));
  const o = records.map((r) => r.outcome);
  const { rows } = await db.query<{ id: string }>(
    outcomesStatement([
      mailerId,
      records.map((r) => r.id),
      records.map((r) => r.state),
      o.map((x) => x.smtpResponse ?? null),
      o.map((x) => x.lastError ?? null),
      o.map((x) => x.messageId ?? null),
      o.map((x) => x.uncertain ?? false),
      o.map((x) => x.nextAttemptAt ?? null),
      recipients.map((x) => x.id),
      recipients.map((x) => x.address),
      recipients.map((x) => x.status),
      recipients.map((x) => x.smtpResponse),
      suppress.map((x) => x.account),
      suppress.map((x) => x.address),
      suppress.map((x) => x.reason),
      suppress.map((x) => x.id),
      suppress.map((x) => x.smtpResponse),
      ...eventColumns(o.flatMap((x) => x.events ?? [])),
    ]),
  );
  const recorded = new Set(rows.map((r) => r.id));
  return records.map((r) => recorded.has(r.id));
}
