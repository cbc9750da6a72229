import t, { type Test } from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { waitForFullIsr } from '../helpers/cluster.js';
import { answers, sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import type { ServiceProcess } from '../helpers/processes-mailer.js';
import { System } from './harness.js';

const control = stackControl();

// Issue #11: a mailer restarted by an orchestrator, with the production default for every timing
// (SESSION_TIMEOUT_MS 30 s, CLAIM_TTL_MS 60 s, SMTP 10 s, send 45 s, BOOT_TIMEOUT_MS 120 s). The
// new mailer must not exit at boot while the dead member still holds the group.

const running = async (p: ServiceProcess) => (await Promise.race([p.exited.then(() => false), sleep(0).then(() => true)])) as boolean;

/** Waits for `mailer` to join (its /readyz), checking meanwhile that it answers /healthz and never exits. */
async function untilJoined(t: Test, system: System, mailer: ServiceProcess, since: number) {
  const port = system.mailerPorts[system.mailers.indexOf(mailer)];
  t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/healthz`), 10_000, 100), '/healthz answers while it waits to join');
  const joined = await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 150_000, 200);
  t.ok(joined, 'it joins the group');
  t.ok(await running(mailer), `it never exited at boot (${mailer.output().slice(-300)})`);
  return Date.now() - since;
}

t.test('13. SIGKILL of the mailer under load and an immediate restart, with the defaults → it waits, joins, 0 lost', async (t) => {
  const system = await System.start(t, { mailers: 1, defaultTimings: true });
  const load = system.load(4, { total: 1_500 });
  t.ok(await eventually(async () => system.sink.received.length >= 200, 60_000), 'mail flows');
  system.mailers[0]!.child.kill('SIGKILL');
  await system.mailers[0]!.exited;
  const restartedAt = Date.now();
  const next = await system.spawnMailer();
  const restartToReadyMs = await untilJoined(t, system, next, restartedAt);
  await load.finished;
  const s = await system.reconcile('mailer SIGKILL + immediate restart (defaults)', 240_000);
  const first = system.firstDeliveryAfter(restartedAt);
  t.comment(`RESTART ${JSON.stringify({ restartToReadyMs, restartToFirstSendMs: first && first - restartedAt })}`);
  t.equal(s.accepted, 1_500);
  t.equal(s.lost, 0, '0 lost');
  t.ok(s.duplicatesKeptMessageId, 'a duplicate (a send cut by the kill) keeps its Message-ID');
  t.equal(s.ledgerSent, s.accepted, 'every row final as sent');
  t.ok(await running(next), 'still running');
});

t.test('14. a crash loop: the only mailer killed every 5 s, five times, each restarted at once → 0 lost', async (t) => {
  const system = await System.start(t, { mailers: 1, defaultTimings: true });
  const load = system.load(4, { total: 1_500 });
  t.ok(await eventually(async () => system.sink.received.length >= 100, 60_000), 'mail flows');
  let restartedAt = 0;
  for (let kill = 0; kill < 5; kill++) {
    const current = system.mailers.at(-1)!;
    t.ok(await running(current), `mailer ${kill + 1} was still running when killed (it never exited by itself)`);
    current.child.kill('SIGKILL');
    await current.exited;
    restartedAt = Date.now();
    await system.spawnMailer();
    if (kill < 4) await sleep(5_000);
  }
  const restartToReadyMs = await untilJoined(t, system, system.mailers.at(-1)!, restartedAt);
  await load.finished;
  const s = await system.reconcile('crash loop: 5 kills 5 s apart (defaults)', 240_000);
  const first = system.firstDeliveryAfter(restartedAt);
  t.comment(`RESTART ${JSON.stringify({ restartToReadyMs, restartToFirstSendMs: first && first - restartedAt })}`);
  t.equal(s.lost, 0, '0 lost');
  t.ok(s.duplicatesKeptMessageId, 'duplicates only with the original Message-ID');
  t.equal(s.ledgerSent, s.accepted);
});

t.test(
  '15. Postgres down for 60 s while a mailer boots → it waits (healthy, not ready), then delivers',
  { skip: !control && 'the stack is external' },
  async (t) => {
    const system = await System.start(t, { mailers: 0, defaultTimings: true });
    await system.load(4, { total: 300 }).finished;
    t.teardown(() => control!.postgres('start'));
    await control!.postgres('stop');
    const mailer = await system.spawnMailer();
    const port = system.mailerPorts[0];
    await sleep(5_000);
    t.ok(await answers(`http://127.0.0.1:${port}/healthz`), '/healthz answers while Postgres is down');
    t.notOk(await answers(`http://127.0.0.1:${port}/readyz`), '/readyz does not');
    await sleep(55_000);
    t.ok(await running(mailer), 'still running after 60 s (BOOT_TIMEOUT_MS is 120 s)');
    const restored = Date.now();
    await control!.postgres('start');
    await untilJoined(t, system, mailer, restored);
    const s = await system.reconcile('Postgres down 60 s at mailer boot (defaults)', 180_000);
    t.equal(s.accepted, 300);
    t.equal(s.lost, 0);
    t.equal(s.duplicated, 0);
    t.ok(await eventually(async () => (await system.reconcile('ledger', 1_000)).ledgerSent === s.accepted, 60_000), 'the ledger agrees');
  },
);

t.test(
  '16. Kafka down for 30 s while the API boots → it waits (healthy, 503 EMAIL_ERR_STARTING), then accepts and delivers',
  { skip: !control && 'the stack is external' },
  async (t) => {
    const system = await System.start(t, { mailers: 1, defaultTimings: true });
    system.api.child.kill('SIGTERM');
    await system.api.exited;
    const nodes = await control!.kafkaNodes();
    // Started together: a node cannot finish starting until a majority of the controller quorum is up.
    const startAll = () => Promise.all(nodes.map((n) => control!.kafka(n.id, 'start')));
    t.teardown(() => startAll().catch(() => {}));
    await Promise.all(nodes.map((n) => control!.kafka(n.id, 'stop')));
    const api = await system.spawnApi();
    await sleep(5_000);
    t.ok(await answers(`${system.apiUrl}/healthz`), '/healthz answers while Kafka is down');
    t.notOk(await answers(`${system.apiUrl}/readyz`), '/readyz does not');
    const early = await fetch(`${system.apiUrl}/v1/emails`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-secret-0123456789abcdef', 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'a@example.com', to: 'b@example.net', subject: 'too early', text: 'x' }),
    });
    t.equal(early.status, 503, 'an email sent while it boots gets a 503 to retry, not a 202 it could not keep');
    t.match(await early.json(), { code: 'EMAIL_ERR_STARTING' });
    t.equal(early.headers.get('retry-after'), '1');
    await sleep(25_000);
    t.ok(await running(api), 'still running after 30 s');
    await startAll();
    t.ok(await eventually(() => answers(`${system.apiUrl}/readyz`), 120_000, 250), 'ready once Kafka is back');
    await system.load(4, { total: 300 }).finished;
    const s = await system.reconcile('Kafka down 30 s at API boot (defaults)', 180_000);
    t.equal(s.accepted, 300);
    t.equal(s.lost, 0);
    t.equal(s.duplicated, 0);
    // The next scenarios need the whole cluster back in sync.
    await waitForFullIsr(system.apiEnv.EMAILS_TOPIC!);
  },
);
