// test-plan: standalone
import type pg from 'pg';
import t from 'tap';
import { quietLogger } from '../../../../test/helpers/env.js';
import { KEPT_BYTES, KEPT_PER_HOUR, reportKeeper } from '../../src/bounces/kept-reports.js';

// Anyone can send the listener mail that is not a report: how much of it reaches the ledger is bounded.

t.test('at most KEPT_PER_HOUR unusable reports are kept an hour, each cut at KEPT_BYTES', async (t) => {
  const written: unknown[][] = [];
  const db = { query: async (_sql: string, values: unknown[]) => written.push(values) } as unknown as pg.Pool;
  let now = Date.UTC(2026, 11, 3, 17, 0, 0);
  const keep = reportKeeper(db, quietLogger, () => now);
  const report = { reason: 'not a multipart/report', mailFrom: '', rcptTo: ['x@bounces.example.com'], raw: Buffer.alloc(1024 * 1024, 'a') };
  const answers = await Promise.all(Array.from({ length: KEPT_PER_HOUR + 50 }, () => keep(report)));
  t.equal(answers.filter(Boolean).length, KEPT_PER_HOUR, `${KEPT_PER_HOUR} kept, at once or not`);
  t.equal(written.length, KEPT_PER_HOUR, 'and only they were written');
  t.equal(String(written[0]?.[3]).length, KEPT_BYTES, 'each cut at KEPT_BYTES');
  now += 59 * 60_000;
  t.equal(await keep(report), false, 'not within the same hour');
  now += 60_000;
  t.equal(await keep(report), true, 'the next hour keeps again');
});
