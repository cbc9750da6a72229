import { scheduledEvent } from '@postline/contracts';
import { park } from '@postline/ledger';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import t, { type Test } from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { countedPool, envelope, eventually, interceptedPool, privateLedgerPool } from '../../../test/helpers/mailer.js';
import { createMetrics } from '../src/plugins/metrics.js';
import { scheduleReleaser } from '../src/schedule-releaser.js';

// The real ledger, in a schema of each test's own (privateLedgerPool: a releaser takes every due
// email it finds, and another test's mailer on the shared ledger once took this one's first, in
// CI); the produce is recorded, not sent (the scheduled e2e covers the topic).
// Ticks here are far longer than the waits: an email released within the wait was released
// because the releaser woke at its due time, not because a tick came round.
// Due times are a second or more ahead: `park` stores an email only while it is still in the
// future by the ledger's clock, and on a loaded CI host a park that should have been 200 ms ahead
// ran after its due time and was (rightly) not parked.

const metrics = createMetrics();

interface Released {
  at: number;
  ids: string[];
}

async function parkDueIn(pool: pg.Pool, ms: number): Promise<{ id: string; due: number }> {
  await pool.query('select 1'); // the pool's first connection is made outside the margin
  const due = Date.now() + ms;
  const scheduledAt = new Date(due).toISOString();
  const e = envelope({ scheduledAt });
  const event = scheduledEvent(e.account, e.id, scheduledAt, e.acceptedAt);
  const parked = await park(pool, { id: e.id, account: e.account, scheduledAt, template: null }, JSON.stringify(e), event);
  if (parked.kind !== 'parked') throw new Error(`not parked (the park ran ${Date.now() - due} ms after its due time)`);
  return { id: e.id, due };
}

function releaser(t: Test, pool: pg.Pool, tickMs: number) {
  const released: Released[] = [];
  const r = scheduleReleaser(
    pool,
    async (messages: Message[]) => {
      released.push({ at: Date.now(), ids: messages.map((m) => String(m.key)) });
    },
    metrics,
    quietLogger,
    tickMs,
  );
  t.teardown(() => r.stop());
  return { r, released, when: (id: string) => released.find((x) => x.ids.includes(id))?.at };
}

t.test('it sleeps until the next due email, not until the tick, and never releases one early', async (t) => {
  const pool = await privateLedgerPool(t);
  const a = await parkDueIn(pool, 1_000);
  const b = await parkDueIn(pool, 2_500);
  const { r, when } = releaser(t, pool, 60_000);
  r.start();
  t.ok(await eventually(async () => when(a.id) !== undefined && when(b.id) !== undefined, 15_000), 'both released long before a tick');
  t.ok(when(a.id)! >= a.due, 'the first not before it was due');
  t.ok(when(b.id)! >= b.due, 'the second not before it was due');
  t.ok(when(a.id)! < when(b.id)!, 'each at its own time: the second was not released with the first');
});

t.test('a park of an email due within the tick wakes it', async (t) => {
  const pool = await privateLedgerPool(t);
  const { r, when } = releaser(t, pool, 60_000);
  r.start();
  // Started with nothing due: the next look would be a minute away.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const c = await parkDueIn(pool, 1_000);
  r.dueAt(c.due);
  t.ok(await eventually(async () => when(c.id) !== undefined, 15_000), 'released long before a tick');
  t.ok(when(c.id)! >= c.due, 'not before it was due');
});

t.test('an email falling due between the release and the read of the next due time is still woken for', async (t) => {
  const base = await privateLedgerPool(t);
  // The next due time, when read with the pool (apart from the release's transaction), is read
  // 150 ms late: by then the email is due, and a read apart said 0, "held by another mailer".
  const pool = interceptedPool(base, (call, args) =>
    call === 'query' && String(args[0]).includes('min(scheduled_at)') ? new Promise((resolve) => setTimeout(resolve, 150)) : undefined,
  );
  const { r, when } = releaser(t, pool, 60_000);
  r.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const e = await parkDueIn(base, 1_000);
  // A look 40 ms before it falls due (as a timer firing early, or a clock a little behind, makes one).
  r.dueAt(e.due - 40);
  t.ok(await eventually(async () => when(e.id) !== undefined, 10_000), 'released long before a tick');
  t.ok(when(e.id)! >= e.due, 'not before it was due');
});

t.test('a due email another releaser holds is left to the tick: no tight loop', async (t) => {
  const base = await privateLedgerPool(t);
  const d = await parkDueIn(base, 1_000);
  // Another mailer's release round, stuck in its produce: it holds the row (FOR UPDATE).
  const other = await base.connect();
  await other.query('begin');
  await other.query('select 1 from emails where id = $1 for update', [d.id]);
  // The releaser starts with the email already due.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, d.due - Date.now()) + 100));
  const { db: pool, queries, checkouts } = countedPool(base);
  const { r, when } = releaser(t, pool, 2_000);
  r.start();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.equal(when(d.id), undefined, 'not released while the other holds it');
  // One round at start (its transaction, and any statement apart from it); a tight loop would
  // have made hundreds of looks.
  const looks = queries() + checkouts();
  t.ok(looks >= 1 && looks <= 2, `looks while it was held: ${looks}`);
  await other.query('rollback');
  other.release();
  t.ok(await eventually(async () => when(d.id) !== undefined, 15_000), 'released by a later tick once it was free');
});
