import { type EmailEvent, type EmailState, webhookBody } from '@postline/contracts';
import type pg from 'pg';
import { insertEvents } from './event-queries.js';
import { sqlLimit } from './sql-limit.js';
import { inTransaction, type Queryable } from './transaction.js';

export type Parked =
  /** Due later: the record is stored in the ledger and its offset may be committed. */
  | { kind: 'parked' }
  /** Not (or no longer) a future email: the caller goes on to claim it (or finds it final). */
  | { kind: 'not parked' };

/**
 * A mailer read a record whose email is scheduled: if the ledger says it is due later, parks
 * the record (byte for byte) so no partition waits for it. The ledger's due time is the one
 * that counts (a PATCH may have moved it, a cancel ended it); the envelope's only creates the
 * row when the API could not. One statement: the row, its `scheduled` event, and the park.
 */
export async function park(
  db: pg.Pool,
  email: { id: string; account: string; scheduledAt: string; template: { id: string; version: number } | null },
  record: string,
  scheduled: EmailEvent,
): Promise<Parked> {
  const { rows } = await db.query<{ parked: boolean }>(
    `with created as (
       insert into emails (id, account, state, scheduled_at, template_id, template_version)
       values ($1, $2, 'scheduled', $3, $4, $5)
       on conflict (id) do update set state = 'scheduled', scheduled_at = $3, template_id = $4, template_version = $5, updated_at = now()
         where emails.state = 'accepting'
       returning state, scheduled_at
     ), current as (
       select state, scheduled_at from created
       union all
       select state, scheduled_at from emails where id = $1 and not exists (select 1 from created)
     ), event as (
       insert into email_events (id, email_id, account, type, payload)
       select $7, $1, $2, 'email.scheduled', $8::jsonb from created
       on conflict (id) do nothing
     ), stored as (
       insert into scheduled_envelopes (email_id, envelope)
       select $1, $6 from current where state = 'scheduled' and scheduled_at > now()
       on conflict (email_id) do update set envelope = excluded.envelope
       returning 1
     )
     select exists (select 1 from stored) as parked`,
    [
      email.id,
      email.account,
      email.scheduledAt,
      email.template?.id ?? null,
      email.template?.version ?? null,
      record,
      scheduled.id,
      webhookBody(scheduled),
    ],
  );
  return rows[0]?.parked ? { kind: 'parked' } : { kind: 'not parked' };
}

export interface DueEmail {
  id: string;
  account: string;
  /** The parked record, as it was read. */
  envelope: string;
  scheduledAt: Date;
}

/** What a release did: how many it released, and when the next one falls due (nextDueInMs). */
export interface Release {
  released: number;
  /**
   * When fewer than the limit were released (null otherwise), read in the same transaction, so
   * against the same `now()`: 0 is an email due when the release looked that it did not take, one
   * another mailer's release holds (SKIP LOCKED). Read apart, an email falling due between the two
   * statements read as 0 as well, and the releaser slept a whole tick instead of waking for it (a
   * 60 s tick in schedule-releaser.test.ts, in CI).
   */
  nextDueMs: number | null;
}

/**
 * Releases up to `limit` due emails: publishes their parked records (acks=all) and marks them
 * `queued`, in one transaction that holds their row locks. Several mailers share the work (SKIP
 * LOCKED); a cancel or a reschedule waits for the lock and then finds `queued` (still cancelable
 * until a mailer claims it). A crash after the publish and before the commit leaves them
 * `scheduled`: they are published again, and the claim lets only one copy be sent.
 */
export async function releaseDue(
  pool: pg.Pool,
  limit: number,
  horizonMs: number,
  publish: (due: DueEmail[]) => Promise<EmailEvent[]>,
): Promise<Release> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<DueEmail>(
      `select e.id, e.account, s.envelope, e.scheduled_at as "scheduledAt" from emails e join scheduled_envelopes s on s.email_id = e.id
        where e.state = 'scheduled' and e.scheduled_at <= now()
        order by e.scheduled_at ${sqlLimit(limit)}
        for update of e skip locked`,
    );
    const nextDueMs = () => (rows.length < limit ? nextDueInMs(client, horizonMs) : null);
    if (rows.length === 0) return { released: 0, nextDueMs: await nextDueMs() };
    const events = await publish(rows);
    const ids = rows.map((r) => r.id);
    await client.query(`update emails set state = 'queued', updated_at = now() where id = any($1::text[])`, [ids]);
    await client.query('delete from scheduled_envelopes where email_id = any($1::text[])', [ids]);
    await insertEvents(client, events);
    // After the update: the emails just released are no longer `scheduled`.
    return { released: rows.length, nextDueMs: await nextDueMs() };
  });
}

export type Change = { kind: 'changed' } | { kind: 'too late'; state: EmailState } | { kind: 'not found' };

/** Reads why a change did not apply: the email is unknown (404) or past the point of change (409). */
async function whyNot(db: pg.Pool, id: string, account: string): Promise<Change> {
  const { rows } = await db.query<{ state: EmailState }>(
    `select state from emails where id = $1 and account = $2 and state <> 'accepting'`,
    [id, account],
  );
  const row = rows[0];
  return row ? { kind: 'too late', state: row.state } : { kind: 'not found' };
}

/**
 * Changes an email no mailer has claimed (`scheduled` or `queued`), with its event, in one
 * statement against the same row as the claim: exactly one of them wins. `set` is one of the
 * constant assignments below; $5 is its value.
 */
async function changeUnclaimed(
  db: pg.Pool,
  id: string,
  account: string,
  set: string,
  value: string | null,
  event: EmailEvent,
): Promise<Change> {
  const { rows } = await db.query<{ n: number }>(
    `with changed as (
       update emails set ${set}, updated_at = now()
        where id = $1 and account = $2 and state in ('scheduled', 'queued')
       returning id, state
     ), event as (
       insert into email_events (id, email_id, account, type, payload)
       select $3, $1, $2, $6, $4::jsonb from changed
       on conflict (id) do nothing
     ), unparked as (
       delete from scheduled_envelopes where email_id in (select id from changed where state = 'canceled')
     )
     select count(*)::int as n from changed`,
    [id, account, event.id, webhookBody(event), value, event.type],
  );
  return rows[0]?.n === 1 ? { kind: 'changed' } : whyNot(db, id, account);
}

/** Cancels an email no mailer has claimed: it ends `canceled` and its parked record is dropped. */
export function cancelEmail(db: pg.Pool, id: string, account: string, canceled: EmailEvent): Promise<Change> {
  // $5 is null: the due time stays as it was (it is only named so the statement types it).
  return changeUnclaimed(db, id, account, `state = 'canceled', scheduled_at = coalesce($5::timestamptz, scheduled_at)`, null, canceled);
}

/**
 * Moves the due time of an email no mailer has claimed (a time in the past: due now). A queued
 * email becomes scheduled again: its record, when read, is parked.
 */
export function rescheduleEmail(db: pg.Pool, id: string, account: string, scheduledAt: string, scheduled: EmailEvent): Promise<Change> {
  return changeUnclaimed(db, id, account, `state = 'scheduled', scheduled_at = $5::timestamptz`, scheduledAt, scheduled);
}

/**
 * Milliseconds until the next scheduled email falls due, if one does within `horizonMs` (null
 * otherwise): the releaser sleeps until then instead of a whole tick. One probe of emails_due_idx.
 */
export async function nextDueInMs(db: Queryable, horizonMs: number): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `select greatest(0, extract(epoch from min(scheduled_at) - now()) * 1000)::float8 as ms
       from emails where state = 'scheduled' and scheduled_at <= now() + $1 * interval '1 millisecond'`,
    [horizonMs],
  );
  return rows[0]?.ms ?? null;
}

/**
 * For the audit's gauge: scheduled emails past their due time and not yet released (the releaser
 * keeps this near its 1 s tick). Reads only the due end of emails_due_idx, however many wait.
 */
export async function overdueScheduled(db: pg.Pool): Promise<{ overdue: number; oldestOverdueMs: number }> {
  const { rows } = await db.query<{ overdue: number; oldest_ms: number | null }>(
    `select count(*)::int as overdue, (extract(epoch from now() - min(scheduled_at)) * 1000)::float8 as oldest_ms
       from emails where state = 'scheduled' and scheduled_at <= now()`,
  );
  return { overdue: rows[0]?.overdue ?? 0, oldestOverdueMs: rows[0]?.oldest_ms ?? 0 };
}
