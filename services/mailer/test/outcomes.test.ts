import t, { type Test } from 'tap';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { envelope, eventually, ledgerPool, ledgerRows, mailerFixture, produce, startMailer } from '../../../test/helpers/mailer.js';

async function setup(t: Test, overrides: Record<string, string> = {}) {
  return { ...(await mailerFixture(t, overrides)), pool: ledgerPool(t) };
}

t.test('the same record produced 3 times → one message; redeliveries are counted as dedupe hits', async (t) => {
  const { sink, env, pool } = await setup(t);
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e, e, e]);
  const { app } = await startMailer(t, env);
  t.ok(await eventually(async () => (await ledgerRows(pool, [e.id])).get(e.id)?.state === 'sent'));
  t.ok(
    await eventually(async () => /postline_mailer_dedupe_hits_total 2/.test(await app.mailerMetrics.registry.metrics())),
    'two dedupe hits',
  );
  t.equal(sink.received.length, 1, 'one message');
});

t.test('421 twice then OK → sent with attempts 3, through the retry topic', async (t) => {
  const { sink, env, pool } = await setup(t);
  sink.behaviour = (_raw, i) => (i < 2 ? { code: 421, message: 'Try again later' } : 'accept');
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(async () => (await ledgerRows(pool, [e.id])).get(e.id)?.state === 'sent', 60_000));
  const row = (await ledgerRows(pool, [e.id])).get(e.id)!;
  t.equal(row.attempts, 3);
  t.equal(sink.attempts, 3, 'three SMTP attempts, no more');
  t.equal(sink.received.length, 1);
  const retries = await readTopic(testKafka(), env.RETRY_TOPIC!, (rs) => rs.length >= 2);
  t.same(
    retries.map((r) => JSON.parse(r.value!).attempt),
    [1, 2],
    'retry records carry the attempt',
  );
  t.ok(
    retries.every((r) => JSON.parse(r.value!).notBefore),
    'and when to try again',
  );
});

t.test('550 → failed at once, dead-lettered, with the reply text in the status', async (t) => {
  const { sink, env, pool } = await setup(t);
  sink.behaviour = () => ({ code: 550, message: 'No such user here' });
  // A recipient of its own: this hard bounce suppresses it for the account, and the tests after
  // this one send to the default recipient.
  const e = envelope({}, { to: 'no-such-user@example.net' });
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(async () => (await ledgerRows(pool, [e.id])).get(e.id)?.state === 'failed'));
  const row = (await ledgerRows(pool, [e.id])).get(e.id)!;
  t.equal(row.attempts, 1, 'no retry of a permanent failure');
  t.match(row.smtp_response, /^550 .*No such user here/);
  const dlq = await readTopic(testKafka(), env.DEAD_LETTER_TOPIC!, (rs) => rs.length >= 1);
  t.equal(dlq.length, 1);
  t.equal(dlq[0]!.key, e.id);
  t.equal(dlq[0]!.headers?.['dead-letter-code']?.toString(), 'MAILER_ERR_SMTP_PERMANENT');
  t.match(dlq[0]!.headers?.['dead-letter-reason']?.toString(), /550/);
  t.equal(JSON.parse(dlq[0]!.value!).id, e.id, 'the original record');
  const suppressed = await pool.query('select reason, email_id from suppressions where account = $1 and address = $2', [
    e.account,
    'no-such-user@example.net',
  ]);
  t.same(suppressed.rows, [{ reason: 'hard_bounce', email_id: e.id }], 'a hard bounce: the recipient is suppressed for its account');
});

t.test('a malformed record between good ones → dead-lettered; the good ones are sent', async (t) => {
  const { sink, env } = await setup(t);
  const good = Array.from({ length: 10 }, () => envelope());
  // All on one partition (same key), so the bad records sit between the good ones.
  const key = 'same-partition';
  await produce(env.EMAILS_TOPIC!, [
    ...good.slice(0, 5).map((e) => ({ key, value: JSON.stringify(e) })),
    { key, value: '{ not json' },
    { key, value: JSON.stringify({ v: 99, id: 'x' }) },
    { key, value: JSON.stringify({ ...envelope(), email: { from: 'nope' } }) },
    ...good.slice(5).map((e) => ({ key, value: JSON.stringify(e) })),
  ]);
  await startMailer(t, env);
  t.ok(await eventually(() => sink.received.length >= 10, 30_000), 'all 10 good ones sent');
  const dlq = await readTopic(testKafka(), env.DEAD_LETTER_TOPIC!, (rs) => rs.length >= 3);
  t.equal(dlq.length, 3, 'three dead letters');
  t.ok(dlq.every((r) => r.headers?.['dead-letter-code']?.toString() === 'MAILER_ERR_INVALID_RECORD'));
  // Records of one partition are handled concurrently, so their dead letters may land in any order.
  const notJson = dlq.find((r) => r.value === '{ not json');
  t.ok(notJson, 'kept byte for byte');
  t.match(notJson?.headers?.['dead-letter-reason']?.toString(), /not JSON/);
  t.ok(
    dlq.every((r) => r.headers?.['source-topic']?.toString() === env.EMAILS_TOPIC),
    'says where it came from',
  );
});

t.test('connection dropped after the message was handed over → uncertain, resent with the same Message-ID', async (t) => {
  const { sink, env, pool } = await setup(t);
  sink.behaviour = (_raw, i) => (i === 0 ? 'drop' : 'accept');
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(async () => (await ledgerRows(pool, [e.id])).get(e.id)?.state === 'sent', 30_000));
  const row = (await ledgerRows(pool, [e.id])).get(e.id)!;
  t.equal(row.uncertain, true, 'recorded as uncertain');
  t.equal(row.attempts, 2);
  t.equal(sink.received[0]?.messageId, `<${e.id}@mail.test.example>`);
});

t.test('out of attempts → failed and dead-lettered', async (t) => {
  const { env, pool, sink } = await setup(t, { MAX_ATTEMPTS: '3', RETRY_BASE_MS: '50' });
  sink.behaviour = () => ({ code: 451, message: 'Local error' });
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(async () => (await ledgerRows(pool, [e.id])).get(e.id)?.state === 'failed', 60_000));
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.attempts, 3);
  const dlq = await readTopic(testKafka(), env.DEAD_LETTER_TOPIC!, (rs) => rs.length >= 1);
  t.equal(dlq[0]?.headers?.['dead-letter-code']?.toString(), 'MAILER_ERR_ATTEMPTS_EXHAUSTED');
});

t.test('a record from a newer postline pauses its partition, no dead letter; one older than the hold is dead-lettered', async (t) => {
  const { sink, env } = await setup(t);
  const newer = (timestamp: number, partition: number) => ({
    partition,
    key: `newer-${partition}`,
    value: JSON.stringify({ ...envelope(), v: 3 }),
    headers: { 'envelope-version': '3' },
    timestamp: String(timestamp),
  });
  const good = (partition: number) => {
    const e = envelope();
    return { id: e.id, message: { partition, key: e.id, value: JSON.stringify(e) } };
  };
  // The second as a rollback would find it: appended 16 minutes ago by a newer API.
  const moved = good(1);
  await produce(env.EMAILS_TOPIC!, [newer(Date.now(), 0), newer(Date.now() - 16 * 60_000, 1), moved.message]);
  const { app } = await startMailer(t, env);
  const sentIds = () => sink.received.map((m) => m.subject?.replace('subject ', ''));
  t.ok(await eventually(() => sentIds().includes(moved.id), 30_000), 'the email behind the old one is sent');
  const dlq = await readTopic(testKafka(), env.DEAD_LETTER_TOPIC!, (rs) => rs.length >= 1);
  t.same(
    dlq.map((r) => [r.headers?.['dead-letter-code']?.toString(), r.headers?.['source-partition']?.toString()]),
    [['MAILER_ERR_NEWER_ENVELOPE', '1']],
    'only the one past the hold is dead-lettered',
  );
  const deferred = async () =>
    /postline_mailer_deferred_total\{reason="newer envelope"\} [1-9]/.test(await app.mailerMetrics.registry.metrics());
  t.ok(await eventually(deferred, 10_000), 'the fresh one is deferred');
  await new Promise((r) => setTimeout(r, 1_000)); // the worker pauses the partition as its batch ends
  // Its partition waits for a mailer that reads version 3: what comes after it waits too, in order,
  // while another partition's email goes out.
  const [after, elsewhere] = [good(0), good(1)];
  await produce(env.EMAILS_TOPIC!, [after.message, elsewhere.message]);
  t.ok(await eventually(() => sentIds().includes(elsewhere.id), 30_000), 'another partition goes on');
  await new Promise((r) => setTimeout(r, 3_000));
  t.notOk(sentIds().includes(after.id), 'the email after the fresh one waits with it');
});

t.test('a retry due later does not hold its retry partition: it is parked, released and sent when due', async (t) => {
  const { sink, env, pool } = await setup(t);
  // Retries are appended in the order their attempts failed: a long backoff before a short one.
  const lateDue = Date.now() + 25_000;
  const late = envelope({ attempt: 5, notBefore: new Date(lateDue).toISOString() });
  const headers = { 'envelope-version': '2', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const lateValue = JSON.stringify(late);
  await produce(env.RETRY_TOPIC!, [{ partition: 0, key: late.id, value: lateValue, headers }]);
  const { app } = await startMailer(t, env);
  // The one due sooner comes after the mailer has looked at the later one (a record fetched in the
  // same batch is in flight beside it, and finishes whatever the later one does).
  const looked = async () =>
    /postline_mailer_(retries_parked_total|deferred_total\{reason="retry not due"\}) [1-9]/.test(
      await app.mailerMetrics.registry.metrics(),
    );
  t.ok(await eventually(looked, 15_000), 'the later one looked at');
  await new Promise((r) => setTimeout(r, 1_000)); // a deferring worker pauses the partition as its batch ends
  const soon = envelope({ attempt: 1, notBefore: new Date().toISOString() });
  await produce(env.RETRY_TOPIC!, [{ partition: 0, key: soon.id, value: JSON.stringify(soon) }]);
  const arrival = (id: string) => sink.received.find((m) => m.subject === `subject ${id}`);
  t.ok(await eventually(() => arrival(soon.id) !== undefined, 40_000), 'the retry due now, behind it, is sent');
  t.ok(arrival(soon.id)!.at < lateDue, 'before the one ahead of it fell due (it used to wait behind it)');
  const parked = await pool.query('select position, record, released_at from parked_retries where email_id = $1', [late.id]);
  t.equal(parked.rows.length, 1, 'the later one is parked in the ledger');
  t.equal(parked.rows[0]?.record, lateValue, 'byte for byte');

  t.ok(await eventually(() => arrival(late.id) !== undefined, 40_000), 'the parked retry is sent once due');
  t.ok(arrival(late.id)!.at >= lateDue, `not before its due time (${arrival(late.id)!.at - lateDue} ms after it)`);
  const lates = (await readTopic(testKafka(), env.RETRY_TOPIC!, (rs) => rs.filter((r) => r.key === late.id).length >= 2)).filter(
    (r) => r.key === late.id,
  );
  t.equal(lates.length, 2, 'released to the retry topic: the record and its copy');
  t.same(
    lates.map((r) => [r.value, Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, String(v)]))]),
    [
      [lateValue, headers],
      [lateValue, headers],
    ],
    'the copy as the record was read: value and headers',
  );
  const released = await pool.query('select released_at, record from parked_retries where email_id = $1', [late.id]);
  t.ok(released.rows[0]?.released_at, 'marked released');
  t.equal(released.rows[0]?.record, null, 'its bytes no longer kept');
  const row = (await ledgerRows(pool, [late.id])).get(late.id)!;
  t.equal(row.state, 'sent');
  t.equal(
    sink.received.filter((m) => m.subject === `subject ${late.id}`).length,
    1,
    'sent once: the original record, read again once due, is not',
  );
  const metrics = await app.mailerMetrics.registry.metrics();
  t.match(metrics, /postline_mailer_retries_parked_total 1\n/);
  t.match(metrics, /postline_mailer_retries_released_total 1\n/);
  t.match(metrics, /^postline_retry_overdue_seconds \d/m, "the audit's gauge of overdue parked retries");
});
