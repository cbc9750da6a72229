import t from 'tap';
import { keyPartition } from '../../../packages/runtime/src/murmur2.js';
import { AUTH, buildApi, email, OTHER_KEY } from '../../../test/helpers/api.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { ledgerPool } from '../../../test/helpers/mailer.js';

t.test('GET /v1/emails?stuck=true lists this account’s overdue unfinished emails, with where each record is', async (t) => {
  const { app, config } = await buildApi(t);
  const pool = ledgerPool(t);
  const post = async () => (await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() })).json().id as string;
  const [queuedId, retryDueId, retryLaterId, freshId, legacyId] = [await post(), await post(), await post(), await post(), await post()];
  // As if no mailer got to them: queued 20 minutes ago; a retry due 20 minutes ago (claimed
  // once, so its position is known); a retry due in the future; one accepted just now.
  await pool.query(`update emails set created_at = now() - interval '20 minutes' where id = $1`, [queuedId]);
  // As an API before sticky partitioning left it: no position recorded, the record placed by its key.
  await pool.query(
    `update emails set created_at = now() - interval '19 minutes', kafka_topic = null, kafka_partition = null where id = $1`,
    [legacyId],
  );
  await pool.query(
    `update emails set state = 'retrying', attempts = 1, created_at = now() - interval '30 minutes',
       next_attempt_at = now() - interval '20 minutes', kafka_topic = 'elsewhere', kafka_partition = 4, kafka_offset = 77
     where id = $1`,
    [retryDueId],
  );
  await pool.query(
    `update emails set state = 'retrying', created_at = now() - interval '30 minutes', next_attempt_at = now() + interval '1 hour' where id = $1`,
    [retryLaterId],
  );

  const res = await app.inject({ method: 'GET', url: '/v1/emails?stuck=true', headers: AUTH });
  t.equal(res.statusCode, 200);
  const body = res.json() as {
    stuckAfterMs: number;
    data: { id: string; status: string; kafka: { topic: string; partition: number; offset: string | null } }[];
  };
  t.equal(body.stuckAfterMs, 900_000, 'the default threshold: 15 minutes');
  const ids = body.data.map((e) => e.id);
  t.same(
    ids.filter((id) => [queuedId, retryDueId, retryLaterId, freshId, legacyId].includes(id)),
    [retryDueId, queuedId, legacyId],
    'oldest first; not the future retry, not the fresh one',
  );
  t.match(
    body.data.find((e) => e.id === retryDueId),
    { status: 'retrying', kafka: { topic: 'elsewhere', partition: 4, offset: '77' } },
  );

  // Never claimed: the API recorded its partition after the ack; it must be where the record really is.
  const [record] = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.some((r) => r.key === queuedId)).then((rs) =>
    rs.filter((r) => r.key === queuedId),
  );
  t.match(
    body.data.find((e) => e.id === queuedId),
    { status: 'queued', kafka: { topic: config.EMAILS_TOPIC, partition: record!.partition, offset: null } },
  );
  // No partition recorded: Kafka's default partitioner on the id, as the API that produced it used.
  t.match(
    body.data.find((e) => e.id === legacyId),
    { status: 'queued', kafka: { topic: config.EMAILS_TOPIC, partition: keyPartition(legacyId, config.EMAILS_PARTITIONS), offset: null } },
  );

  const other = await app.inject({ method: 'GET', url: '/v1/emails?stuck=true', headers: { authorization: `Bearer ${OTHER_KEY}` } });
  t.notOk(
    (other.json() as { data: { id: string }[] }).data.some((e) => e.id === queuedId),
    'another account does not see them',
  );
});

t.test('GET /v1/emails: stuck=true is the audit, limit is bounded, a key is needed', async (t) => {
  const { app } = await buildApi(t);
  // Without stuck=true it lists the emails (list.test.ts).
  const bare = await app.inject({ method: 'GET', url: '/v1/emails?limit=1', headers: AUTH });
  t.match([bare.statusCode, bare.json()], [200, { object: 'list' }]);
  for (const limit of ['0', '1001', 'x', '-1']) {
    const res = await app.inject({ method: 'GET', url: `/v1/emails?stuck=true&limit=${limit}`, headers: AUTH });
    t.match([res.statusCode, res.json()], [400, { errors: [{ path: '/limit' }] }], `limit=${limit}`);
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/emails?stuck=true&limit=1000', headers: AUTH })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/v1/emails?stuck=true' })).statusCode, 401);
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.ok(doc.paths['/v1/emails'].get, 'documented in OpenAPI');
});
