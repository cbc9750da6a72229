import t from 'tap';
import { AUTH, buildApi, email } from '../../../test/helpers/api.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';

t.test('500 concurrent POSTs over HTTP → 500 distinct ids at 500 distinct offsets', async (t) => {
  const { app, config } = await buildApi(t);
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
  t.ok(new Set(records.map((r) => r.partition)).size > 1, 'spread over partitions by key');

  // Micro-batching really grouped them (fewer produce requests than emails).
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  const count = Number(/^postline_api_produce_batch_records_count (\d+)/m.exec(metrics.body)?.[1]);
  t.ok(count > 0 && count < 500, `${count} produce requests carried 500 emails`);
});
