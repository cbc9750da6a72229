import type pg from 'pg';
import t from 'tap';
import { freePort } from '../../packages/stack/src/ports.js';
import { AUTH } from '../helpers/api.js';
import { uniqueName } from '../helpers/env.js';
import { eventually, ledgerPool, ledgerRows, MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { System } from './harness.js';

// Issue #16 §1-2: a relay pool through the real API and mailer processes, on the production
// defaults, the retry backoff included (the uncertain retry waits out the default 30 s). What
// each relay received is what its SMTP server recorded.

const user = uniqueName('relay').toLowerCase();

async function relayEvents(pool: pg.Pool, ids: string[], type: string) {
  const { rows } = await pool.query<{ email_id: string; payload: { data: Record<string, unknown> } }>(
    'select email_id, payload from email_events where email_id = any($1) and type = $2 order by seq',
    [ids, type],
  );
  return rows.map((r) => ({ id: r.email_id, ...(r.payload.data as { relay?: string; relaysTried?: string[] }) }));
}

t.test('relay pool: failover before DATA only, with the production defaults', async (t) => {
  const flaky = await new SmtpSink().start();
  t.teardown(() => flaky.stop());
  // The flaky relay drops the connection after the first message's DATA (no reply): uncertain.
  let droppedRaw = '';
  flaky.behaviour = (raw, index) => {
    if (index > 0) return 'accept';
    droppedRaw = raw;
    return 'drop';
  };
  const dead = await freePort();
  const system = await System.start(t, {
    mailers: 1,
    relays: (good) => `smtp://127.0.0.1:${dead}?name=dead, ${flaky.url}?name=flaky, ${good}?name=good`,
    // Empty is unset: the retry backoff too is the default (30 s ± 20 % before the uncertain retry).
    mailer: { SMTP_ROUTES: 'tag:case:refused=dead|good; tag:case:flaky=flaky|good', RETRY_BASE_MS: '', RETRY_MAX_MS: '' },
  });
  const pool = ledgerPool(t);
  const post = async (subject: string, tag: string) => {
    const res = await fetch(`${system.apiUrl}/v1/emails`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: 'Shop <orders@example.com>',
        to: `${user}@example.net`,
        subject,
        text: 'hello',
        tags: { case: tag },
      }),
    });
    const body = (await res.json()) as { id: string };
    if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
    return body.id;
  };

  // Both cases run at once: the flaky email's retry waits out the default backoff meanwhile.
  const flakyId = await post('flaky relay', 'flaky');
  const refusedIds: string[] = [];
  for (let i = 0; i < 100; i++) {
    const subject = `refused ${i}`;
    const id = await post(subject, 'refused');
    refusedIds.push(id);
    system.accepted.set(subject, id);
  }

  await t.test('the first relay refuses connections: every email goes through the second, exactly once', async (t) => {
    const summary = await system.reconcile('first relay refused');
    t.match(summary, { accepted: 100, delivered: 100, lost: 0, duplicated: 0, ledgerSent: 100 });
    const sent = await relayEvents(pool, refusedIds, 'email.sent');
    t.equal(sent.length, 100, 'one email.sent each');
    t.ok(
      sent.every((e) => e.relay === 'good'),
      'each sent by the second relay, as its event says',
    );
    const movedOver = sent.filter((e) => Array.isArray(e.relaysTried));
    t.ok(
      movedOver.every((e) => JSON.stringify(e.relaysTried) === '["dead","good"]'),
      'a failover names both relays, in order',
    );
    t.ok(movedOver.length >= 1, `${movedOver.length} tried the dead relay first; the rest skipped it while its breaker was open`);
  });

  await t.test('dropped after DATA: uncertain, retried on the same relay with the same Message-ID, never on the second', async (t) => {
    const messageId = `<${flakyId}@${MESSAGE_ID_DOMAIN}>`;
    t.ok(
      await eventually(async () => (await relayEvents(pool, [flakyId], 'email.uncertain')).length === 1, 30_000),
      'email.uncertain was recorded',
    );
    const [uncertain] = await relayEvents(pool, [flakyId], 'email.uncertain');
    t.equal(uncertain?.relay, 'flaky', 'on the relay it was dropped by');
    t.ok(await eventually(async () => (await ledgerRows(pool, [flakyId])).get(flakyId)?.state === 'sent', 90_000), 'sent in the end');
    t.same(flaky.received.filter((r) => r.messageId === messageId).length, 1, 'the flaky relay accepted it once, on the retry');
    t.equal(flaky.attempts, 2, 'and saw exactly two attempts: the dropped one and the retry');
    t.equal(/^Message-ID:\s*(<[^>]+>)/im.exec(droppedRaw)?.[1], messageId, 'the dropped attempt carried the same Message-ID');
    t.equal(system.sink.received.filter((r) => r.messageId === messageId).length, 0, 'the second relay never received it');
    const row = (await ledgerRows(pool, [flakyId])).get(flakyId);
    t.equal(row?.uncertain, true, 'the ledger keeps that it was uncertain');
    const [sent] = await relayEvents(pool, [flakyId], 'email.sent');
    t.equal(sent?.relay, 'flaky');
  });
});
