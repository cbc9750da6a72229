import { queuedEvent } from '@postline/contracts';
import { claimMany, releaseClaim } from '@postline/ledger';
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { envelope, ledgerRows } from '../../../test/helpers/mailer.js';
import { handleRecord } from '../src/record-handler.js';
import { record, scriptedDeps } from './handler-deps.js';

// A record is read again when its offset was not yet committed: after a crash (offsets are
// committed at most once a second), or when its partition paused on an earlier record and
// resumed from there. For a retrying email, the record whose attempt made it so must not send it
// again: that would be before its backoff, and without the relay an uncertain attempt pinned.

t.test('the record whose attempt made an email retrying, read again, is skipped; its retry record sends it', async (t) => {
  const { pool, d, sends, produced } = scriptedDeps(t, ['uncertain']);
  const e = envelope();
  t.same(await handleRecord(d, record(e, '5')), { kind: 'done' });
  t.equal(sends.length, 1);
  const retry = produced.find((p) => p.topic === d.config.RETRY_TOPIC)?.value;
  t.equal(retry?.relay, 'relay1', 'the uncertain attempt pinned its relay on the retry record');
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'retrying');
  // The uncertain send opened the relay's breaker: wait for its probe, so the record reaches the claim.
  while (d.smtp.waitMs(e) > 0) await sleep(50);

  t.same(await handleRecord(d, record(e, '5')), { kind: 'done' }, 'read again: done');
  t.equal(sends.length, 1, 'and not sent again: not before its backoff, not without its pin');
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'retrying', 'still waiting for its retry record');

  const due = { ...retry, notBefore: new Date().toISOString() };
  t.same(await handleRecord(d, record(due, '0', { topic: d.config.RETRY_TOPIC })), { kind: 'done' });
  t.same(sends, [{ id: e.id }, { id: e.id, relay: 'relay1' }], 'the retry record sent it, on its pinned relay');
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'sent');
});

t.test('a record whose claim was given back (nothing sent) is taken again: only an attempt made marks it', async (t) => {
  const { pool, d, sends, produced } = scriptedDeps(t, ['transient']);
  const e = envelope();
  t.same(await handleRecord(d, record(e, '7')), { kind: 'done' });
  const retry = { ...produced.find((p) => p.topic === d.config.RETRY_TOPIC)?.value, notBefore: new Date().toISOString() };
  // The retry record is claimed, then given back untouched (its relay was unreachable).
  const position = { topic: d.config.RETRY_TOPIC, partition: 0, offset: '3' };
  const [claim] = await claimMany(pool, d.config.MAILER_ID, 60_000, [
    { id: e.id, account: e.account, position, queued: queuedEvent(e), recipients: ['rcpt@example.net'] },
  ]);
  t.equal(claim?.kind, 'claimed');
  await releaseClaim(pool, e.id, d.config.MAILER_ID);
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'retrying');
  t.same(await handleRecord(d, record(retry, '3', { topic: d.config.RETRY_TOPIC })), { kind: 'done' });
  t.equal(sends.length, 2, 'the same retry record, read again after the release, sends it');
  t.equal((await ledgerRows(pool, [e.id])).get(e.id)?.state, 'sent');
});
