import t from 'tap';
import { System } from './harness.js';

const SCALE = Number(process.env.E2E_SCALE ?? 1);

t.test('1. steady load: 2,000 emails → all delivered exactly once', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  await system.load(32, { total: 2_000 * SCALE }).finished;
  t.equal(system.accepted.size, 2_000 * SCALE, 'all accepted');
  const s = await system.reconcile('steady');
  t.equal(s.lost, 0, 'none lost');
  t.equal(s.duplicated, 0, 'none twice');
  t.equal(s.fiveXX, 0);
  t.equal(s.ledgerSent, s.accepted, 'the ledger says sent for each');
  // What an operator's error alert would see from a healthy system: nothing.
  t.same(
    { api: system.api?.errors(), mailers: system.mailers.map((m) => m.errors()) },
    { api: {}, mailers: [{}] },
    'no error-level line from the API or the mailer',
  );
});

t.test('2. client retries with the same Idempotency-Key, sequential and concurrent → one email each', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  const keys = Array.from({ length: 40 }, (_, i) => `order-${i}`);
  await Promise.all(
    keys.map(async (key) => {
      const subject = `idem-${key}`;
      const ids = new Set<string | undefined>();
      for (let i = 0; i < 3; i++) ids.add((await system.send({ 'idempotency-key': key }, subject)).id);
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => system.send({ 'idempotency-key': key }, subject)));
      for (const r of concurrent) ids.add(r.id);
      t.equal(ids.size, 1, `${key}: one id for 8 requests`);
    }),
  );
  const s = await system.reconcile('idempotency');
  t.equal(s.accepted, 40);
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0, 'one email per key');
  t.equal(system.sink.received.length, 40, 'exactly 40 messages at the SMTP server');
});
