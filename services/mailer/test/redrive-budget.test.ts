import { reopenFailed } from '@postline/ledger';
import t from 'tap';
import { envelope, ledgerRows, TEST_ACCOUNT } from '../../../test/helpers/mailer.js';
import { handleRecord } from '../src/record-handler.js';
import { record, scriptedDeps } from './handler-deps.js';

t.test('a redriven email that had run out of attempts gets a whole MAX_ATTEMPTS budget again (README, Redrive)', async (t) => {
  // Every try a 451: the budget, not a success, ends it.
  const { pool, d, produced } = scriptedDeps(t, Array(20).fill('transient'));
  const e = envelope();
  const max = d.config.MAX_ATTEMPTS;
  // As the ledger leaves an email that ran out of attempts, then as `postline dlq redrive` leaves it.
  await pool.query(`insert into emails (id, account, state, attempts, last_error) values ($1, $2, 'failed', $3, 'after 8 attempts')`, [
    e.id,
    TEST_ACCOUNT,
    max,
  ]);
  t.equal((await reopenFailed(pool, [e.id])).get(e.id), 'queued');
  const before = Date.now();
  t.same(await handleRecord(d, record({ ...e, attempt: 0 })), { kind: 'done' });
  t.same(
    produced.map((p) => [p.topic, p.headers['dead-letter-code']]),
    [[d.config.RETRY_TOPIC, undefined]],
    'a 4xx after the redrive is retried, not dead-lettered again at once',
  );
  // The first retry's backoff (RETRY_BASE_MS, ±20 %), not the ninth's (capped at RETRY_MAX_MS).
  const wait = Date.parse(String(produced[0]?.value.notBefore)) - before;
  const base = d.config.RETRY_BASE_MS;
  t.ok(wait >= base * 0.8 - 50 && wait <= base * 1.2 + 1_000, `the backoff starts again: ${wait} ms (base ${base} ms)`);
  const row = (await ledgerRows(pool, [e.id])).get(e.id);
  t.equal(row?.state, 'retrying');
  t.equal(row?.attempts, max + 1, "the ledger's counter keeps counting");

  // The budget is whole again, not endless: MAX_ATTEMPTS - 1 more 4xx retry, the last one dead-letters.
  for (let tries = 2; tries <= max; tries++) {
    produced.length = 0;
    await pool.query(`update emails set next_attempt_at = now() where id = $1`, [e.id]);
    t.same(await handleRecord(d, record({ ...e, attempt: max + tries - 1, notBefore: new Date().toISOString() }, String(tries))), {
      kind: 'done',
    });
    const expected = tries < max ? [d.config.RETRY_TOPIC, undefined] : [d.config.DEAD_LETTER_TOPIC, 'MAILER_ERR_ATTEMPTS_EXHAUSTED'];
    t.same(
      produced.map((p) => [p.topic, p.headers['dead-letter-code']]),
      [expected],
      `try ${tries} of ${max}`,
    );
  }
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'failed');
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.attempts, 2 * max);
});

t.test('a stale record read again after a redrive does not start another budget: the ledger counts', async (t) => {
  const { pool, d, produced } = scriptedDeps(t, ['transient']);
  const e = envelope();
  const max = d.config.MAX_ATTEMPTS;
  // Seven tries since its redrive: the next one is its last, whatever the record says.
  await pool.query(`insert into emails (id, account, state, attempts, redriven_attempts) values ($1, $2, 'retrying', $3, $4)`, [
    e.id,
    TEST_ACCOUNT,
    2 * max - 1,
    max,
  ]);
  t.same(await handleRecord(d, record({ ...e, attempt: 0 })), { kind: 'done' });
  t.same(
    produced.map((p) => p.headers['dead-letter-code'] ?? 'retry'),
    ['MAILER_ERR_ATTEMPTS_EXHAUSTED'],
    'the original record, read again, gets no fresh budget',
  );
});
