import t, { type Test } from 'tap';
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

/**
 * One mailer under load while `outage` takes Postgres away and brings it back, then `settleMs`
 * more load: every 202 is delivered once, and the ledger ends with every email sent.
 */
async function ledgerOutage(t: Test, scenario: string, outage: () => Promise<void>, settleMs: number) {
  const system = await System.start(t, { mailers: 1 });
  system.sink.delayMs = 2;
  const load = system.load(16);
  await sleep(2_000);
  t.teardown(() => control!.postgres('start'));
  await outage();
  await sleep(settleMs);
  await load.stop();
  const s = await system.reconcile(scenario);
  // The fault landed while emails were in flight, not in a lull the mailer never noticed.
  const ledgerWarnings = system.mailers.flatMap((m) => Object.keys(m.warnings())).filter((msg) => msg.startsWith('ledger'));
  t.ok(ledgerWarnings.length > 0, `the mailer saw the ledger go (${ledgerWarnings.join('; ')})`);
  t.ok(s.accepted > 100, `accepted ${s.accepted} (the API keeps accepting: Kafka holds the emails)`);
  t.equal(s.lost, 0);
  t.equal(s.duplicated, 0);
  t.ok(
    await eventually(async () => (await system.reconcile(`${scenario} (ledger)`, 1_000)).ledgerSent === s.accepted, 60_000),
    'the ledger catches up',
  );
}

t.test('10. Postgres stopped for 10 s under load → 0 lost, 0 duplicates', { skip }, async (t) => {
  await ledgerOutage(
    t,
    'Postgres down 10 s',
    async () => {
      await control!.postgres('stop');
      await sleep(10_000);
      await control!.postgres('start');
    },
    2_000,
  );
});

/*
 * Postgres SIGKILLed (postmaster and backends): claims and outcomes cut mid-commit, some
 * committed without their answer, crash recovery at the restart. The mailer keeps its outcomes
 * and retries them, and a claim it holds in the recovered ledger is its own: nothing is lost,
 * and nothing is sent twice. Restarted at once, as an orchestrator would.
 */
t.test('10b. Postgres SIGKILLed under load and restarted at once → 0 lost, 0 duplicates', { skip }, async (t) => {
  await ledgerOutage(
    t,
    'Postgres SIGKILL',
    async () => {
      await control!.postgres('kill');
      await control!.postgres('start');
    },
    5_000,
  );
});
