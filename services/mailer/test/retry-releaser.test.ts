import { overdueRetries, parkRetry } from '@postline/ledger';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import t, { type Test } from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { envelope, eventually, privateLedgerPool } from '../../../test/helpers/mailer.js';
import { createMetrics } from '../src/plugins/metrics.js';
import { retryReleaser } from '../src/retry-releaser.js';

// The real ledger, in a schema of its own (a releaser takes every due record of its topics); the
// produce is recorded, not sent (outcomes.test.ts covers the topic, with a mailer reading it).
// The tick is far longer than the waits: a record released within them was released because the
// releaser woke at its due time.

interface Produced {
  at: number;
  topic: string;
  message: Message;
}

function releaser(t: Test, pool: pg.Pool, topics: string[], produced: Produced[]) {
  const r = retryReleaser(
    pool,
    topics,
    async (topic, messages) => {
      for (const message of messages) produced.push({ at: Date.now(), topic, message });
    },
    createMetrics(),
    quietLogger,
    60_000,
  );
  t.teardown(() => r.stop());
  return r;
}

t.test('two mailers release each parked retry once, to its own topic, with its key and headers, not before it is due', async (t) => {
  const pool = await privateLedgerPool(t);
  await pool.query('select 1');
  const due = Date.now() + 1_500;
  const parked = await Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      const e = envelope({ attempt: 3 });
      const topic = i % 3 === 0 ? 'emails' : 'emails.retry';
      const headers = { 'envelope-version': '2', n: String(i) };
      await parkRetry(pool, {
        position: `${topic}/${i % 4}/${i}`,
        topic,
        emailId: e.id,
        waitMs: due - Date.now(),
        record: JSON.stringify(e),
        headers,
      });
      return { id: e.id, topic, value: JSON.stringify(e), headers };
    }),
  );
  const produced: Produced[] = [];
  const [a, b] = [releaser(t, pool, ['emails', 'emails.retry'], produced), releaser(t, pool, ['emails', 'emails.retry'], produced)];
  a.start();
  b.start();
  a.dueAt(due);
  b.dueAt(due);
  t.ok(await eventually(async () => produced.length >= parked.length, 15_000), 'all released long before a tick');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(produced.length, parked.length, 'each once');
  t.ok(
    produced.every((p) => p.at >= due - 50),
    `none before it was due (earliest ${Math.min(...produced.map((p) => p.at)) - due} ms from it; Postgres' clock and this process' agree within the margin)`,
  );
  t.same(
    produced.map((p) => [p.topic, String(p.message.key), String(p.message.value), p.message.headers]).sort(),
    parked.map((p) => [p.topic, p.id, p.value, p.headers]).sort(),
    'each to the topic it was parked from, as it was',
  );
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from parked_retries where released_at is null');
  t.equal(rows[0]?.n, 0, 'all marked released');
});

t.test(
  "the overdue gauge's query: how long past its due time the most overdue parked retry waits; released and future ones do not count",
  async (t) => {
    const pool = await privateLedgerPool(t);
    t.same(await overdueRetries(pool), { overdue: 0, oldestOverdueMs: 0 }, 'none parked');
    await pool.query(
      `insert into parked_retries (position, topic, email_id, due_at, record, headers, released_at)
     values ('r/0/1', 'r', 'a', now() - interval '90 seconds', '{}', '{}', null),
            ('r/0/2', 'r', 'b', now() - interval '10 seconds', '{}', '{}', null),
            ('r/0/3', 'r', 'c', now() - interval '1 hour', null, null, now() - interval '59 minutes'),
            ('r/0/4', 'r', 'd', now() + interval '1 hour', '{}', '{}', null)`,
    );
    const { overdue, oldestOverdueMs } = await overdueRetries(pool);
    t.equal(overdue, 2, 'the two past due and not released');
    t.ok(oldestOverdueMs >= 90_000 && oldestOverdueMs < 100_000, `the oldest 90 s overdue (${Math.round(oldestOverdueMs)} ms)`);
  },
);
