import { envelopeSchema } from '@postline/contracts';
import { createLedgerPool } from '@postline/ledger';
import t from 'tap';
import { AUTH, buildApi, email } from '../../../test/helpers/api.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';

t.test('a 202 comes with the id, and the record is on the topic in the envelope the mailer expects', async (t) => {
  const { app, config } = await buildApi(t);
  const body = email({
    to: ['a@example.net', 'B <b@example.net>'],
    cc: 'c@example.net',
    html: '<p>Hi</p>',
    tags: { campaign: 'welcome' },
    headers: { 'X-Trace': 'abc' },
  });
  const res = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: body });
  t.equal(res.statusCode, 202);
  const { id, status } = res.json();
  t.equal(status, 'queued');
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUIDv7');
  t.equal(res.headers.location, `/v1/emails/${id}`);

  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 1);
  t.equal(records.length, 1);
  const record = records[0]!;
  t.equal(record.key, id, 'keyed by email id');
  t.equal(record.headers?.['envelope-version']?.toString(), '2');
  const envelope = envelopeSchema.parse(JSON.parse(record.value!));
  t.equal(envelope.id, id);
  t.equal(envelope.account, 'test');
  t.equal(envelope.attempt, 0);
  t.same(
    envelope.email,
    {
      ...body,
      from: { name: 'Sender', address: 'sender@example.com' },
      to: [{ address: 'a@example.net' }, { name: 'B', address: 'b@example.net' }],
      cc: [{ address: 'c@example.net' }],
    },
    'the request as sent, its addresses parsed once into { name, address }',
  );

  // Recorded as queued right after the ack: no 404 window.
  const status1 = await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: AUTH });
  t.equal(status1.statusCode, 200);
  t.match(status1.json(), { id, status: 'queued', attempts: 0, sentAt: null, messageId: null });
});

t.test('a batch is validated whole, produced together, answered in order', async (t) => {
  const { app, config } = await buildApi(t);
  const emails = [0, 1, 2].map((i) => email({ subject: `item ${i}` }));
  const res = await app.inject({ method: 'POST', url: '/v1/emails/batch', headers: AUTH, payload: { emails } });
  t.equal(res.statusCode, 202);
  const { data } = res.json() as { data: { id: string; status: string }[] };
  t.equal(data.length, 3);
  t.equal(new Set(data.map((d) => d.id)).size, 3);
  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => data.every((d) => rs.some((r) => r.key === d.id)));
  t.equal(records.length, 3, 'one record per item');
  const byId = new Map(records.map((r) => [r.key, envelopeSchema.parse(JSON.parse(r.value!))]));
  for (const [i, d] of data.entries()) {
    t.equal(byId.get(d.id)?.email.subject, `item ${i}`, `item ${i} is on the topic under its id`);
  }

  const bad = await app.inject({
    method: 'POST',
    url: '/v1/emails/batch',
    headers: AUTH,
    payload: { emails: [email(), email({ subject: 'a\r\nb' })] },
  });
  t.equal(bad.statusCode, 400);
  t.same(bad.json().errors, [{ path: '/emails/1/subject', message: 'must not contain line breaks' }], 'names the item index and field');
});

t.test(
  'the rows written after the ack commit without waiting for the WAL flush; everything else the API writes waits for it',
  async (t) => {
    const { app, config } = await buildApi(t);
    const res = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() });
    t.equal(res.statusCode, 202);
    const { rows } = await app.ledger.query<{ query: string }>(
      `select query from pg_stat_activity where datname = current_database() and application_name = 'postline-api-rows'`,
    );
    t.equal(rows.length, 1, 'one connection of the rows pool (one insert was in flight)');
    t.match(rows[0]?.query, /^with moved as \(\s+insert into emails/, 'the row and its queued event went through it');

    const show = async (pool: { query: typeof app.ledger.query }) =>
      (await pool.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]?.synchronous_commit;
    t.equal(await show(app.ledger), 'on', 'keys, templates, webhooks and suppressions wait for the flush');
    const log = { warn: () => {} };
    const ledgerOptions = {
      url: config.DATABASE_URL,
      applicationName: 'test',
      maxConnections: 1,
      connectTimeoutMs: 5_000,
      queryTimeoutMs: 5_000,
    };
    const rowsLike = createLedgerPool({ ...ledgerOptions, asyncCommit: true }, log);
    const plain = createLedgerPool(ledgerOptions, log);
    t.teardown(() => Promise.all([rowsLike.end(), plain.end()]));
    t.equal(await show(rowsLike), 'off', 'a pool made with asyncCommit does not wait for it');
    t.equal(await show(plain), 'on');
  },
);
