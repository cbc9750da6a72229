import { type EmailEvent, type WebhookPayload, webhookBody } from '@postline/contracts';
import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';
import { inTransaction, type Queryable } from './transaction.js';

/**
 * Appends events to the log (and so to the outbox), in the caller's transaction. An event that
 * is already there (same deterministic id: a redelivery, a second writer) is not written twice.
 */
export async function insertEvents(db: Queryable, events: EmailEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `insert into email_events (id, email_id, account, type, payload)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
     on conflict (id) do nothing`,
    eventColumns(events),
  );
}

/** Events as the five arrays an `unnest(text[], text[], text[], text[], jsonb[])` insert reads. */
export function eventColumns(events: EmailEvent[]): [string[], string[], string[], string[], string[]] {
  return [
    events.map((e) => e.id),
    events.map((e) => e.data.emailId),
    events.map((e) => e.account),
    events.map((e) => e.type),
    events.map((e) => webhookBody(e)),
  ];
}

export interface ListedEvent extends WebhookPayload {
  id: string;
}

/** One of `account`'s emails' events, in the order they were written (at most 1,000). */
export async function listEvents(db: pg.Pool, emailId: string, account: string): Promise<ListedEvent[] | null> {
  // One row per event, or one row of nulls for a known email without events yet (left join).
  const { rows } = await db.query<{ id: string | null; payload: WebhookPayload }>(
    `select e.id, e.payload from emails m
       left join email_events e on e.email_id = m.id
      where m.id = $1 and m.account = $2 and m.state <> 'accepting'
      order by e.seq limit 1000`,
    [emailId, account],
  );
  if (rows.length === 0) return null;
  return rows.flatMap((r) => (r.id === null ? [] : [{ id: r.id, ...r.payload }]));
}

// Any constant shared by every mailer: only one relay publishes at a time, so an email's events
// reach the topic in the order they were written.
const RELAY_LOCK = '8029764587520463';

// The lock, the next seqs and their events, in one round trip. The events are read by primary
// key through `= any(array(...))`, never joined to the outbox: joined, Postgres planned a scan of
// the whole event log on the small table's stale statistics (7 ms a round at 46,000 events).
const nextEvents = (limit: number) => `with lock as materialized (select pg_try_advisory_xact_lock($1) as ok),
     queued as materialized (select seq from event_outbox where (select ok from lock) order by seq ${sqlLimit(limit)})
   select (select ok from lock) as locked,
          array(select seq from queued order by seq)::text[] as seqs,
          array(select json_build_object('seq', e.seq::text, 'id', e.id, 'account', e.account, 'payload', e.payload)
                  from email_events e where e.seq = any(array(select seq from queued))) as events`;

interface OutboxEvent {
  seq: string;
  id: string;
  account: string;
  payload: WebhookPayload;
}

/**
 * Publishes up to `limit` unpublished events, oldest first, then takes them out of the outbox —
 * in one transaction that holds the relay lock. A crash before that delete republishes them
 * (same ids); nothing leaves the outbox that was not acknowledged. Returns how many outbox
 * entries it settled (0: none to do, or another mailer's relay holds the lock). Five statements
 * a round: begin, the planner setting, the lock with what to publish, the delete, commit.
 */
export async function relayOutbox(pool: pg.Pool, limit: number, publish: (events: EmailEvent[]) => Promise<void>): Promise<number> {
  return inTransaction(pool, async (client) => {
    // The outbox is a queue: every event passes through it, so after a backlog (Kafka down for
    // an hour) its table and index keep the pages the backlog grew them to, however few rows are
    // left. Planned on those sizes, the head of the queue is read by scanning every page and
    // sorting (20 ms a round with 1,000 rows left of 2 million, against 1 ms by the index, whose
    // cost the planner rates by its pages too). Read by its index, a round costs its own rows.
    await client.query('set local enable_seqscan = off');
    const { rows } = await client.query<{ locked: boolean; seqs: string[]; events: OutboxEvent[] }>(nextEvents(limit), [RELAY_LOCK]);
    const next = rows[0];
    if (!next?.locked || next.seqs.length === 0) return 0;
    const bySeq = new Map(next.events.map((e) => [e.seq, e]));
    // An event purged with its email (retention) leaves its seq, which goes unpublished.
    const events = next.seqs.flatMap((seq) => {
      const e = bySeq.get(seq);
      return e ? [{ id: e.id, account: e.account, ...e.payload }] : [];
    });
    if (events.length > 0) await publish(events);
    await client.query('delete from event_outbox where seq = any($1::bigint[])', [next.seqs]);
    return next.seqs.length;
  });
}

/** The relay's lock key, for tests that hold it to keep events in the outbox. */
export const OUTBOX_RELAY_LOCK = RELAY_LOCK;
