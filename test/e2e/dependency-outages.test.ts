import t from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { System } from './harness.js';

const control = stackControl();
const skip = !control && 'the stack is external (no STACK_CONTROL_URL)';

t.test('9. the SMTP server answers 421 to everything for 20 s → all delivered, no hot loop', async (t) => {
  const system = await System.start(t, { mailers: 1, mailer: { RETRY_BASE_MS: '1000', RETRY_MAX_MS: '8000' } });
  system.sink.refuseConnections = { code: 421, message: 'Service not available' };
  await system.load(8, { total: 400 }).finished;
  t.equal(system.accepted.size, 400, 'all 400 accepted while SMTP refuses');
  await sleep(20_000);
  const sessionsDuringOutage = system.sink.sessions;
  system.sink.refuseConnections = null;
  const s = await system.reconcile('SMTP 421 for 20 s');
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0);
  // A hot loop would be thousands of sessions a second; backoff and the breaker keep it to a few per email.
  t.ok(sessionsDuringOutage <= 400 * 4, `${sessionsDuringOutage} SMTP sessions during the 20 s outage for 400 emails`);
  t.comment(`SMTP sessions during outage: ${sessionsDuringOutage}, total: ${system.sink.sessions}`);
});

t.test('10. Postgres stopped for 10 s under load → 0 lost, 0 duplicates', { skip }, async (t) => {
  const system = await System.start(t, { mailers: 1 });
  system.sink.delayMs = 2;
  const load = system.load(16);
  await sleep(2_000);
  t.teardown(() => control!.postgres('start'));
  await control!.postgres('stop');
  await sleep(10_000);
  await control!.postgres('start');
  await sleep(2_000);
  await load.stop();
  const s = await system.reconcile('Postgres down 10 s');
  t.ok(s.accepted > 100, `accepted ${s.accepted} (the API keeps accepting: Kafka holds the emails)`);
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0);
  t.ok(
    await eventually(async () => (await system.reconcile('Postgres down 10 s (ledger)', 1_000)).ledgerSent === s.accepted, 60_000),
    'the ledger catches up',
  );
});
