import t, { type Test } from 'tap';
import { AUTH, buildApi, email, OTHER_KEY } from '../../../test/helpers/api.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { ledgerPool } from '../../../test/helpers/mailer.js';

/**
 * Counts the runs of one statement on the API's pools (the rows after the ack have one of their
 * own): prepared (packages/ledger/src/prepared.ts), it is a config with its name.
 */
function countRuns(t: Test, app: Awaited<ReturnType<typeof buildApi>>['app'], name: string): () => number {
  let runs = 0;
  const pools = Object.getPrototypeOf(app.ledger) as { query: typeof app.ledger.query };
  const query = pools.query;
  pools.query = function (this: typeof app.ledger, ...args: Parameters<typeof query>) {
    if ((args[0] as { name?: string }).name === name) runs++;
    return query.apply(this, args);
  } as typeof query;
  t.teardown(() => {
    pools.query = query;
  });
  return () => runs;
}

t.test('500 concurrent POSTs over HTTP → 500 distinct ids at 500 distinct offsets', async (t) => {
  const { app, config } = await buildApi(t);
  const inserts = countRuns(t, app, 'postline.record-accepted');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const responses = await Promise.all(
    Array.from({ length: 500 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/v1/emails`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(email({ subject: `n${i}` })),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } })),
    ),
  );
  t.same(
    responses.filter((r) => r.status !== 202).map((r) => r.status),
    [],
    'all 202',
  );
  const ids = new Set(responses.map((r) => r.body.id));
  t.equal(ids.size, 500, '500 distinct ids');

  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 500, 60_000);
  t.equal(records.length, 500, 'exactly 500 records (no duplicates, none lost)');
  t.equal(new Set(records.map((r) => `${r.partition}:${r.offset}`)).size, 500, '500 distinct partition offsets');
  t.same(new Set(records.map((r) => r.key)), ids, 'every record is one of the acknowledged ids');
  t.ok(new Set(records.map((r) => r.partition)).size > 1, 'spread over partitions: each send to the next broker');

  // Micro-batching really grouped them (fewer produce requests than emails).
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  const count = Number(/^postline_api_produce_batch_records_count (\d+)/m.exec(metrics.body)?.[1]);
  t.ok(count > 0 && count < 500, `${count} produce requests carried 500 emails`);
  // The requests one produce's ack resumes share one insert (sent at once, the first went alone).
  t.ok(inserts() > 0 && inserts() <= count, `${inserts()} row inserts for ${count} produce requests`);
});

t.test('a send goes to one broker, over the partitions it leads; the next send to another; each row says where', async (t) => {
  const { app, config } = await buildApi(t);
  const pool = ledgerPool(t);
  const batch = async (n: number) => {
    const emails = Array.from({ length: 100 }, (_, i) => email({ subject: `b${n}-${i}` }));
    const res = await app.inject({ method: 'POST', url: '/v1/emails/batch', headers: AUTH, payload: { emails } });
    t.equal(res.statusCode, 202);
    return (res.json() as { data: { id: string }[] }).data.map((e) => e.id);
  };
  // One after the other: each request's 100 emails are one send.
  const first = await batch(1);
  const second = await batch(2);
  const ids = new Set([...first, ...second]);
  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.filter((r) => ids.has(r.key as string)).length >= 200);
  const partitionOf = new Map(records.filter((r) => ids.has(r.key as string)).map((r) => [r.key as string, r.partition]));
  const admin = testKafka().admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const meta = await admin.fetchTopicMetadata({ topics: [config.EMAILS_TOPIC] });
  const leaderOf = new Map(meta.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
  const placed = (list: string[]) => {
    const partitions = new Set(list.map((id) => partitionOf.get(id) as number));
    return { partitions, leaders: new Set([...partitions].map((p) => leaderOf.get(p))) };
  };
  const [a, b] = [placed(first), placed(second)];
  // Spread by key, 100 ids would fill every partition, on all three brokers.
  t.equal(a.leaders.size, 1, 'the first request’s 100 records are on one broker');
  t.equal(a.partitions.size, [...leaderOf.values()].filter((l) => a.leaders.has(l)).length, 'spread over every partition it leads');
  t.equal(b.leaders.size, 1, 'and so are the second’s');
  t.notSame([...b.leaders], [...a.leaders], 'the second send went to another broker');
  const { rows } = await pool.query<{ id: string; kafka_topic: string; kafka_partition: number }>(
    'select id, kafka_topic, kafka_partition from emails where id = any($1)',
    [[...ids]],
  );
  t.equal(rows.length, 200);
  t.same(
    rows.filter((r) => r.kafka_topic !== config.EMAILS_TOPIC || r.kafka_partition !== partitionOf.get(r.id)),
    [],
    'each row records the topic and partition its record is in',
  );
});

t.test(
  'concurrent sends share one statement for their rows and suppressions, and each 202 names only its own account’s suppressed recipients',
  async (t) => {
    const { app } = await buildApi(t);
    const gone = `gone-${Date.now()}@example.net`;
    // On the `test` account's list only; `other` may still send to it.
    await app.ledger.query(`insert into suppressions (account, address, reason) values ('test', $1, 'manual')`, [gone]);
    t.teardown(() => app.ledger.query(`delete from suppressions where address = $1`, [gone]));
    const post = (auth: Record<string, string>, to: string[]) =>
      app.inject({ method: 'POST', url: '/v1/emails', headers: { ...auth, 'content-type': 'application/json' }, payload: email({ to }) });
    const others = { authorization: `Bearer ${OTHER_KEY}` };
    const statements = countRuns(t, app, 'postline.record-accepted');
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0 ? post(AUTH, [gone, 'ok@example.net']) : i % 3 === 1 ? post(others, [gone]) : post(AUTH, ['ok@example.net']),
      ),
    );
    t.same([...new Set(replies.map((r) => r.statusCode))], [202]);
    const bodies = replies.map((r) => r.json() as { id: string; suppressed?: string[] });
    t.same(
      bodies.map(({ suppressed = [] }, i) => (i % 3 === 0 ? suppressed.length === 1 && suppressed[0] === gone : suppressed.length === 0)),
      bodies.map(() => true),
      'the test account’s sends name the address; the other account’s and the clean sends name none',
    );
    t.ok(statements() > 0 && statements() < 60, `60 sends made ${statements()} statements`);
    // The same statements wrote every row and its first event, under the right account.
    const { rows } = await app.ledger.query<{ account: string; state: string; events: number }>(
      `select e.account, e.state, (select count(*)::int from email_events v where v.email_id = e.id and v.type = 'email.queued') as events
       from emails e where e.id = any($1) order by e.account`,
      [bodies.map((b) => b.id)],
    );
    t.equal(rows.length, 60, 'a row for each 202');
    t.same(
      rows.filter((r) => r.events !== 1 || !['queued', 'sending', 'sent'].includes(r.state)),
      [],
      'each queued (or already taken by a mailer), with one email.queued event',
    );
    t.equal(rows.filter((r) => r.account === 'other').length, 20, 'the other account’s 20 under its own name');
  },
);
