import { type EmailEvent, webhookBody } from '@postline/contracts';
import { prepared } from './prepared.js';
import type { Queryable } from './transaction.js';

export interface AcceptedRow {
  id: string;
  account: string;
  /** `scheduled` with a due time, or `queued` for now. */
  scheduledAt: string | null;
  template: { id: string; version: number } | null;
  /** Its first event (`email.queued`, or `email.scheduled`), written with the row. */
  event: EmailEvent;
  /** Where the API produced its record (the stuck-email audit reads it until a mailer claims one). */
  kafka: { topic: string; partition: number };
}

/** One question: which of `addresses` are on `account`'s suppression list. */
export interface SuppressionLookup {
  account: string;
  addresses: string[];
}

/** What one accepted request records after Kafka's ack: its emails' rows, and its suppression question. */
export interface AcceptedRequest {
  rows: AcceptedRow[];
  lookup: SuppressionLookup;
}

// The rows, their first events (only for rows this statement moved: a mailer that recorded the
// email first wrote the event itself, same id), and the look-up, in one statement. Postgres runs
// the two inserts whether or not the select reads them.
const acceptedStatement = prepared(
  'record-accepted',
  `with moved as (
       insert into emails (id, account, state, scheduled_at, template_id, template_version, kafka_topic, kafka_partition)
       select id, account, case when due is null then 'queued' else 'scheduled' end, due, tid, tver, topic, part
         from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::int[], $12::text[], $13::int[])
           as t(id, account, due, tid, tver, topic, part)
       on conflict (id) do update
         set state = excluded.state, scheduled_at = excluded.scheduled_at, template_id = excluded.template_id,
             template_version = excluded.template_version, kafka_topic = excluded.kafka_topic,
             kafka_partition = excluded.kafka_partition, updated_at = now()
         where emails.state = 'accepting'
       returning id
     ), first_events as (
       insert into email_events (id, email_id, account, type, payload)
       select t.event_id, t.email_id, t.account, t.type, t.payload
         from unnest($6::text[], $1::text[], $2::text[], $7::text[], $8::jsonb[]) as t(event_id, email_id, account, type, payload)
         join moved on moved.id = t.email_id
       on conflict (id) do nothing
     )
     select q.i, q.address from unnest($9::int[], $10::text[], $11::text[]) as q(i, account, address)
       where exists (select from suppressions s where s.account = q.account and s.address = q.address)`,
);

/**
 * After Kafka's ack, for many requests at once: their emails are `queued` (or `scheduled`), so a
 * status lookup, a cancel or a reschedule right after the 202 finds them, and each request learns
 * which of its recipients are suppressed now. Never moves an email backwards: a mailer may already
 * have claimed, parked or sent it. One statement: its cost is the statement, not its rows (the
 * look-up was one of its own per request, and the API's most frequent statement; docs/benchmarks.md).
 */
export async function recordAccepted(db: Queryable, requests: AcceptedRequest[]): Promise<string[][]> {
  const found = requests.map((): string[] => []);
  // One statement may not update a row twice: concurrent retries of one Idempotency-Key can
  // land in the same (API-side micro-batched) statement.
  const emails = [...new Map(requests.flatMap((r) => r.rows).map((e) => [e.id, e])).values()];
  const index: number[] = [];
  const accounts: string[] = [];
  const addresses: string[] = [];
  requests.forEach(({ lookup }, i) => {
    for (const address of lookup.addresses) {
      index.push(i);
      accounts.push(lookup.account);
      addresses.push(address);
    }
  });
  if (emails.length === 0 && index.length === 0) return found;
  const { rows } = await db.query<{ i: number; address: string }>(
    acceptedStatement([
      emails.map((e) => e.id),
      emails.map((e) => e.account),
      emails.map((e) => e.scheduledAt),
      emails.map((e) => e.template?.id ?? null),
      emails.map((e) => e.template?.version ?? null),
      emails.map((e) => e.event.id),
      emails.map((e) => e.event.type),
      emails.map((e) => webhookBody(e.event)),
      index,
      accounts,
      addresses,
      emails.map((e) => e.kafka.topic),
      emails.map((e) => e.kafka.partition),
    ]),
  );
  for (const row of rows) found[row.i]?.push(row.address);
  return found;
}
