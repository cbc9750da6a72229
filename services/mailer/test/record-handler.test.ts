import t from 'tap';
import { envelope, ledgerPool, ledgerRows } from '../../../test/helpers/mailer.js';
import { type HandlerDeps, handleRecord, NEWER_ENVELOPE_HOLD_MS, NEWER_ENVELOPE_RETRY_MS } from '../src/record-handler.js';
import { deps, record } from './handler-deps.js';

t.test('a record from a newer postline waits for an upgraded mailer, then is dead-lettered, never judged invalid', async (t) => {
  const produced: { topic: string; code?: string; reason?: string; value?: string }[] = [];
  const d = deps(
    {} as HandlerDeps['db'],
    async () => t.fail('never sent') as never,
    () => true,
    {
      produce: async (topic, messages) => {
        for (const m of messages) {
          const h = m.headers as Record<string, string>;
          produced.push({ topic, code: h['dead-letter-code'], reason: h['dead-letter-reason'], value: String(m.value) });
        }
      },
    },
  );
  const future = { ...envelope(), v: 3, aFieldOfV3: { x: 1 } };
  const headers = { 'envelope-version': '3' };
  const now = Date.now();
  const fresh = await handleRecord(d, record(future, '7', { timestamp: now - 60_000, headers }));
  t.same(fresh, { kind: 'defer', ms: NEWER_ENVELOPE_RETRY_MS, reason: 'newer envelope' }, 'its partition waits');
  t.same(produced, [], 'not dead-lettered while a rollout may still bring a mailer that reads it');

  const old = await handleRecord(d, record(future, '7', { timestamp: now - NEWER_ENVELOPE_HOLD_MS - 1_000, headers }));
  t.same(old, { kind: 'done' }, 'after the hold the partition moves on');
  t.equal(produced.length, 1);
  t.equal(produced[0]?.topic, d.config.DEAD_LETTER_TOPIC);
  t.equal(produced[0]?.code, 'MAILER_ERR_NEWER_ENVELOPE', 'a code of its own: upgrade, then redrive');
  t.match(produced[0]?.reason, /envelope version 3; this mailer reads up to 2/);
  t.equal(produced[0]?.value, JSON.stringify(future), 'kept byte for byte, for the redrive');

  // The producer sets the timestamp: one from the future must not hold the partition for good.
  produced.length = 0;
  t.same(await handleRecord(d, record(future, '8', { timestamp: now + 3_600_000, headers })), { kind: 'done' });
  t.equal(produced[0]?.code, 'MAILER_ERR_NEWER_ENVELOPE', 'a timestamp an hour ahead: dead-lettered at once');

  // Only a whole version number above ours, said in the header too, is "newer"; anything else is as
  // invalid as before (a record of garbage must not hold its partition for 15 minutes).
  const cases: [unknown, Record<string, string>][] = [
    [3, {}],
    [3, { 'envelope-version': '2' }],
    [99, { 'envelope-version': '3' }],
    [0, { 'envelope-version': '0' }],
    [2.5, { 'envelope-version': '2.5' }],
    ['3', { 'envelope-version': '3' }],
    [null, {}],
    [2 ** 53, { 'envelope-version': String(2 ** 53) }],
  ];
  for (const [v, h] of cases) {
    produced.length = 0;
    const name = `v: ${v}, header: ${h['envelope-version']}`;
    t.same(await handleRecord(d, record({ ...envelope(), v }, '9', { headers: h })), { kind: 'done' }, name);
    t.equal(produced[0]?.code, 'MAILER_ERR_INVALID_RECORD', `${name} is invalid`);
  }
  produced.length = 0;
  await handleRecord(d, record({ ...envelope(), aFieldOfV3: 1 }, '10'));
  t.equal(produced[0]?.code, 'MAILER_ERR_INVALID_RECORD', 'an unknown field in a version-2 envelope is still refused');
});

t.test(
  'an outcome that cannot be written at shutdown leaves the record not done and its row claimed, not committed as finished',
  async (t) => {
    const pool = ledgerPool(t);
    let ledgerDown = false;
    let stopping = false;
    const db = {
      query: (...args: unknown[]) =>
        ledgerDown ? Promise.reject(new Error('ledger down')) : (pool.query as (...a: unknown[]) => Promise<unknown>)(...args),
      // The outcome is written in a transaction (its events and recipients with it).
      connect: () => (ledgerDown ? Promise.reject(new Error('ledger down')) : pool.connect()),
    } as unknown as HandlerDeps['db'];
    const e = envelope();
    const d = deps(
      db,
      async () => {
        // Sent; then Postgres goes and the mailer is told to stop before the outcome is written.
        ledgerDown = true;
        stopping = true;
        return { kind: 'sent', response: '250 OK', accepted: ['a@example.net'], refusals: [], messageId: `<${e.id}@x>` };
      },
      () => !stopping,
    );
    const result = await handleRecord(d, record(e));
    t.same(result, { kind: 'defer', ms: 1_000, reason: 'outcome not recorded' }, 'not done: its offset is not committed');
    const row = (await ledgerRows(pool, [e.id])).get(e.id);
    t.equal(row?.state, 'sending', 'the row still holds the claim, which expires: the redelivery sends it again (same Message-ID)');
  },
);

t.test(
  'a relay paced beyond 1 s: the record goes to the retry topic due at its slot, attempt unchanged, claim released, nothing sent',
  async (t) => {
    const pool = ledgerPool(t);
    const sent: string[] = [];
    const produced: { topic: string; value: Record<string, unknown> }[] = [];
    const d = deps(
      pool,
      async (e) => {
        sent.push(e.id);
        return { kind: 'sent', response: '250 OK', accepted: ['rcpt@example.net'], refusals: [], messageId: `<${e.id}@x>` };
      },
      () => true,
      {
        // One message every 2 s: the second email's slot is 2 s away.
        maxRate: 0.5,
        produce: async (topic, messages) => {
          for (const m of messages) produced.push({ topic, value: JSON.parse(String(m.value)) });
        },
      },
    );
    const first = envelope();
    const second = envelope();
    t.same(await handleRecord(d, record(first, '0')), { kind: 'done' });
    const before = Date.now();
    t.same(await handleRecord(d, record(second, '1')), { kind: 'done' }, 'done: its partition moves on');
    t.same(sent, [first.id], 'the second was not sent');
    const retry = produced.find((p) => p.value.id === second.id);
    t.equal(retry?.topic, d.config.RETRY_TOPIC);
    t.equal(retry?.value.attempt, 0, 'no attempt counted: nothing was tried');
    const due = Date.parse(String(retry?.value.notBefore));
    t.ok(due >= before + 1_000 && due <= before + 2_500, `due at its slot (${due - before} ms later)`);
    t.equal((await ledgerRows(pool, [second.id])).get(second.id)?.state, 'queued', 'its claim was given back');
  },
);

t.test('queue wait: from the append to the requests topic to the claim; a retry record (its backoff) is not counted', async (t) => {
  const pool = ledgerPool(t);
  const d = deps(
    pool,
    async (e) => ({ kind: 'sent', response: '250 OK', accepted: ['rcpt@example.net'], refusals: [], messageId: `<${e.id}@x>` }),
    () => true,
  );
  const waited = async () => {
    const { values } = await d.metrics.queueWait.get();
    const value = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
    return { count: value('postline_mailer_queue_wait_seconds_count'), sum: value('postline_mailer_queue_wait_seconds_sum') };
  };
  t.same(await handleRecord(d, record(envelope(), '0', { topic: d.config.EMAILS_TOPIC, timestamp: Date.now() - 2_500 })), { kind: 'done' });
  const first = await waited();
  t.equal(first.count, 1);
  t.ok(first.sum >= 2.5 && first.sum < 10, `appended 2.5 s before it was handled (${first.sum} s)`);
  const retry = envelope({ attempt: 1 });
  t.same(await handleRecord(d, record(retry, '0', { topic: d.config.RETRY_TOPIC, timestamp: Date.now() - 30_000 })), { kind: 'done' });
  t.same(await waited(), first, 'the retry topic’s record is not a queue wait');
});
