import { releaseDueRetries } from '@postline/ledger';
import t from 'tap';
import { uniqueName } from '../../../test/helpers/env.js';
import { envelope, ledgerPool } from '../../../test/helpers/mailer.js';
import { type HandlerDeps, handleRecord } from '../src/record-handler.js';
import { PARK_AFTER_MS } from '../src/retry-parking.js';
import { deps, record, scriptedDeps } from './handler-deps.js';

// The record handler on the real ledger (this file's database), each test on retry topics of its
// own name: the release below takes only its topics' records.

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const parkedRows = async (pool: HandlerDeps['db'], topic: string) =>
  (
    await pool.query<{ position: string; record: string | null; headers: unknown; wait_ms: number; released: boolean }>(
      `select position, record, headers, extract(epoch from due_at - now()) * 1000 as wait_ms, released_at is not null as released
         from parked_retries where topic = $1 order by position`,
      [topic],
    )
  ).rows;

t.test('a retry due more than PARK_AFTER_MS later is parked, as it was read, once however often it is read', async (t) => {
  const { pool, d, sends } = scriptedDeps(t, []);
  const topic = uniqueName('retry');
  const headers = { 'envelope-version': '2', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const e = envelope({ attempt: 6, notBefore: inMs(30 * 60_000) });
  const r = record(e, '41', { topic, headers });
  t.same(await handleRecord(d, r), { kind: 'done' }, 'done: its partition moves on');
  t.same(await handleRecord(d, r), { kind: 'done' }, 'read again (before its offset was committed): done');
  const rows = await parkedRows(pool, topic);
  t.equal(rows.length, 1, 'parked once');
  t.equal(rows[0]?.position, `${topic}/0/41`);
  t.equal(rows[0]?.record, JSON.stringify(e), 'byte for byte');
  t.same(rows[0]?.headers, headers, 'with its headers');
  t.ok(Math.abs(rows[0]!.wait_ms - 30 * 60_000) < 10_000, `due in 30 minutes by the ledger's clock (${Math.round(rows[0]!.wait_ms)} ms)`);
  t.same(sends, [], 'nothing sent');
  t.match(await d.metrics.registry.metrics(), /postline_mailer_retries_parked_total 1\n/);

  // A setTimeout past 2^31 ms fires at once: this used to be a partition paused for the longest
  // defer and looked at again; it is parked like any other.
  const years = record(envelope({ attempt: 1, notBefore: '2100-01-01T00:00:00.000Z' }), '42', { topic });
  t.same(await handleRecord(d, years), { kind: 'done' }, 'a notBefore years ahead is parked too');
  t.equal((await parkedRows(pool, topic)).length, 2);
});

t.test('a retry due within PARK_AFTER_MS pauses its partition until due, and is not parked', async (t) => {
  const { pool, d, sends } = scriptedDeps(t, []);
  const topic = uniqueName('retry');
  const result = await handleRecord(d, record(envelope({ attempt: 1, notBefore: inMs(PARK_AFTER_MS - 2_000) }), '7', { topic }));
  t.equal(result.kind, 'defer');
  if (result.kind === 'defer') {
    t.equal(result.reason, 'retry not due');
    t.ok(result.ms > 0 && result.ms <= PARK_AFTER_MS - 2_000, `paused until due: ${result.ms} ms`);
  }
  t.same(await parkedRows(pool, topic), [], 'no row');
  t.same(sends, []);
});

t.test('read again once due, a parked record is not claimed: its released copy is, and sends the email once', async (t) => {
  const { pool, d, sends } = scriptedDeps(t, []);
  const topic = uniqueName('retry');
  const e = envelope({ attempt: 2, notBefore: inMs(10 * 60_000) });
  t.same(await handleRecord(d, record(e, '5', { topic })), { kind: 'done' });
  // Released when due (moved to now here): appended to its topic again, as it was.
  await pool.query(`update parked_retries set due_at = now() where topic = $1`, [topic]);
  const published: { topic: string; value: string }[] = [];
  const release = await releaseDueRetries(pool, [topic], 10, 60_000, async (due) => {
    for (const p of due) published.push({ topic: p.topic, value: p.record });
  });
  t.equal(release.released, 1);
  t.same(published, [{ topic, value: JSON.stringify(e) }], 'the record, to its own topic');
  const [row] = await parkedRows(pool, topic);
  t.ok(row?.released, 'marked released');
  t.equal(row?.record, null, 'its bytes no longer kept');
  t.equal(
    (
      await releaseDueRetries(pool, [topic], 10, 60_000, async () => {
        t.fail('released twice');
      })
    ).released,
    0,
  );

  // The same record read again after a crash, its offset not committed, now due (the clock moved
  // on: the envelope's own notBefore is in the past by then).
  const due = { ...e, notBefore: inMs(-1_000) };
  t.same(await handleRecord(d, record(due, '5', { topic })), { kind: 'done' }, 'the original, read again: done');
  t.same(sends, [], 'and not sent: its copy is the one that tries');
  t.same(await handleRecord(d, record(due, '5', { topic })), { kind: 'done' });
  t.equal((await parkedRows(pool, topic)).length, 1, 'nor parked again');
  t.match(await d.metrics.registry.metrics(), /postline_mailer_dedupe_hits_total 2\n/);

  t.same(await handleRecord(d, record(due, '9', { topic })), { kind: 'done' }, 'the copy, at its own position');
  t.same(
    sends.map((s) => s.id),
    [e.id],
    'sends the email',
  );
});

t.test('the ledger down while parking: the partition pauses a second and looks again, not for the whole wait', async (t) => {
  const down = { query: async () => Promise.reject(new Error('connection refused')) } as unknown as HandlerDeps['db'];
  const d = deps(
    down,
    async () => t.fail('never sent') as never,
    () => true,
  );
  const result = await handleRecord(d, record(envelope({ attempt: 1, notBefore: inMs(30 * 60_000) }), '3', { topic: 'retry' }));
  t.same(result, { kind: 'defer', ms: 1_000, reason: 'ledger unavailable' });
});

t.test('a released copy goes to the topic it was parked from, and only a releaser reading that topic takes it', async (t) => {
  const pool = ledgerPool(t);
  const [mine, theirs] = [uniqueName('retry'), uniqueName('retry')];
  const { d } = scriptedDeps(t, []);
  await handleRecord(d, record(envelope({ notBefore: inMs(60_000) }), '1', { topic: mine }));
  await handleRecord(d, record(envelope({ notBefore: inMs(60_000) }), '1', { topic: theirs }));
  await pool.query('update parked_retries set due_at = now() where topic = any($1::text[])', [[mine, theirs]]);
  const published: string[] = [];
  await releaseDueRetries(pool, [mine], 10, 60_000, async (due) => {
    published.push(...due.map((p) => p.topic));
  });
  t.same(published, [mine], "the other deployment's retry stays parked for its own mailers");
  t.notOk((await parkedRows(pool, theirs))[0]?.released);
});
