import t from 'tap';
import { AUTH, buildApi, email } from '../../../test/helpers/api.js';
import { readTopic, testKafka, topicSize } from '../../../test/helpers/kafka.js';
import { idempotentId } from '../src/ids.js';

t.test('the same Idempotency-Key three times → one id, one record; another body → 409', async (t) => {
  const { app, config } = await buildApi(t);
  const headers = { ...AUTH, 'idempotency-key': 'order-1234-receipt' };
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/emails', headers, payload: email() });
    t.equal(res.statusCode, 202, `attempt ${i + 1}`);
    ids.push(res.json().id);
  }
  t.equal(new Set(ids).size, 1, 'one id');
  // Key order does not make a request different.
  const reordered = Object.fromEntries(Object.entries(email()).reverse());
  t.equal((await app.inject({ method: 'POST', url: '/v1/emails', headers, payload: reordered })).json().id, ids[0]);

  const conflict = await app.inject({ method: 'POST', url: '/v1/emails', headers, payload: email({ subject: 'Changed' }) });
  t.equal(conflict.statusCode, 409);
  t.equal(conflict.json().code, 'EMAIL_ERR_IDEMPOTENCY_CONFLICT');

  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 1);
  t.equal(records.length, 1, 'the retries produced nothing again');
  t.equal(await topicSize(testKafka(), config.EMAILS_TOPIC), 1);
  t.equal(records[0]?.key, ids[0]);
});

t.test('concurrent retries with one key get one id; the mailer dedupes any extra record by id', async (t) => {
  const { app, config } = await buildApi(t);
  const headers = { ...AUTH, 'idempotency-key': 'concurrent-key' };
  const results = await Promise.all(
    Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: '/v1/emails', headers, payload: email() })),
  );
  t.same(
    results.map((r) => r.statusCode),
    [202, 202, 202, 202, 202],
  );
  t.equal(new Set(results.map((r) => r.json().id)).size, 1, 'one id');
  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 1);
  t.ok(records.length >= 1 && records.every((r) => r.key === results[0]!.json().id), 'every record carries that one id');
  // The retries' ledger writes may share one (micro-batched) insert: it must still record the id.
  const status = await app.inject({ method: 'GET', url: `/v1/emails/${results[0]!.json().id}`, headers: AUTH });
  t.equal(status.statusCode, 200);
  t.equal(status.json().status, 'queued');
});

t.test('keys are per API key: the same key from two accounts is two emails', async (t) => {
  const { app } = await buildApi(t);
  const a = await app.inject({ method: 'POST', url: '/v1/emails', headers: { ...AUTH, 'idempotency-key': 'k1' }, payload: email() });
  const b = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    headers: { authorization: 'Bearer other-secret-0123456789abcdef', 'idempotency-key': 'k1' },
    payload: email(),
  });
  t.equal(a.statusCode, 202);
  t.equal(b.statusCode, 202);
  t.not(a.json().id, b.json().id);
});

t.test('a batch with a key: the same ids on retry, 409 on another batch', async (t) => {
  const { app } = await buildApi(t);
  const headers = { ...AUTH, 'idempotency-key': 'batch-7' };
  const payload = { emails: [email({ subject: 'one' }), email({ subject: 'two' })] };
  const first = await app.inject({ method: 'POST', url: '/v1/emails/batch', headers, payload });
  const again = await app.inject({ method: 'POST', url: '/v1/emails/batch', headers, payload });
  t.same(again.json(), first.json());
  const other = await app.inject({ method: 'POST', url: '/v1/emails/batch', headers, payload: { emails: [email({ subject: 'one' })] } });
  t.equal(other.statusCode, 409);
});

t.test('a retry whose first attempt skipped the reservation (ledger unreachable then) is a replay, not a 409', async (t) => {
  const { app, config } = await buildApi(t);
  const key = `skipped-reservation-${Date.now()}`;
  // What the first attempt leaves: its record produced without a reservation, and the row the
  // mailer's claim made for it, with no request hash.
  const id = idempotentId('test', key);
  await app.ledger.query(`insert into emails (id, account, state) values ($1, 'test', 'sent')`, [id]);
  const res = await app.inject({ method: 'POST', url: '/v1/emails', headers: { ...AUTH, 'idempotency-key': key }, payload: email() });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().id, id, 'the same id');
  t.equal(await topicSize(testKafka(), config.EMAILS_TOPIC), 0, 'a replay: nothing produced again');
});
