import t from 'tap';
import { BrokerProxy } from '../helpers/broker-proxy.js';
import { coordinatorOf, leaderOfMost } from '../helpers/cluster.js';
import { answers, sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { System } from './harness.js';

// A partial network partition: the services reach Kafka through a proxy (test/helpers/broker-proxy.ts)
// that cuts them off from one broker, which stays up, in sync and leading its partitions for every
// other client. Unlike a killed or frozen broker (broker-faults.test.ts), nothing moves its
// leadership away: the clients must go around it themselves. Only this file's services use the
// proxy, so it runs beside the others on the shared stack. Production defaults for every timing.

const proxied = process.env.STACK_KAFKA_PROXIED_BROKERS;
const skip = !proxied && 'the test stack has no proxied listener (an external stack)';
const CUT_MS = 60_000;
/** Past ProducerPool's ABANDON_AFTER_MS (60 s): the send stuck on the broker cut off is given up and its producer replaced. */
const API_CUT_MS = 80_000;

t.test('24. The API cut off from one broker for 80 s under load → only 202 or 503, 0 of the 202s lost (defaults)', { skip }, async (t) => {
  const proxy = await BrokerProxy.start(t, proxied as string);
  const system = await System.start(t, { mailers: 1, api: { KAFKA_BROKERS: proxy.brokers } });
  const node = await leaderOfMost(system.apiEnv.EMAILS_TOPIC!);
  const load = system.load(16);
  await sleep(5_000);
  const before = load.timeline.length;
  proxy.cut(node);
  // The readiness probe a load balancer or the kubelet asks, once a second throughout the cut; an
  // answer later than the kubelet's default timeout (1 s, which deploy/k8s keeps) is a failure.
  const ready: boolean[] = [];
  let slowest = 0;
  const cutAt = Date.now();
  while (Date.now() - cutAt < API_CUT_MS) {
    const asked = Date.now();
    ready.push(await answers(`${system.apiUrl}/readyz`, 1_000));
    slowest = Math.max(slowest, Date.now() - asked);
    await sleep(1_000);
  }
  const cut = load.timeline.slice(before, before + API_CUT_MS / 250);
  proxy.heal();
  await sleep(5_000);
  await load.stop();
  const fives = Array.from({ length: API_CUT_MS / 5_000 }, (_, i) => cut.slice(i * 20, i * 20 + 20).reduce((a, b) => a + b, 0));
  t.comment(
    `node ${node} cut off; 202s a 5 s window before: ${load.timeline.slice(before - 20, before).reduce((a, b) => a + b, 0)}; during: ${fives.join(' ')}`,
  );
  t.comment(
    `ready ${ready.filter(Boolean).length} of ${ready.length} probes (the slowest ${slowest} ms); ${JSON.stringify(Object.fromEntries(system.outcomes))}`,
  );
  t.same(system.unexpectedOutcomes('202', '503'), {}, 'only 202 or 503');
  t.ok(
    fives.slice(1).every((n) => n > 0),
    'emails accepted in every 5 s of the cut after the first (the brokers it reaches take them)',
  );
  t.ok(ready.slice(5).every(Boolean), 'ready throughout, after the first 5 s');
  const s = await system.reconcile('the API cut off from one broker (defaults)');
  t.equal(s.lost, 0, '0 of the 202s lost');
  t.equal(s.duplicated, 0);
});

t.test(
  '25. The mailer cut off from its group coordinator (which leads a third of its partitions too) for 60 s under load → every email delivered once the cut heals, 0 lost, 0 twice (defaults)',
  { skip },
  async (t) => {
    const proxy = await BrokerProxy.start(t, proxied as string);
    const system = await System.start(t, { mailers: 1, mailer: { KAFKA_BROKERS: proxy.brokers } });
    const node = await coordinatorOf(system.mailerEnv.CONSUMER_GROUP!);
    const load = system.load(4);
    await sleep(5_000);
    proxy.cut(node);
    const cutAt = Date.now();
    await sleep(CUT_MS);
    const healing = Date.now();
    const during = system.sink.received.filter((r) => r.at >= cutAt + 5_000).length;
    // The longest the mailer went without delivering, from 5 s into the cut to its end.
    const longestGap = system.sink.longestGap(cutAt + 5_000, healing);
    proxy.heal();
    const healedAt = Date.now();
    await sleep(5_000);
    await load.stop();
    t.comment(`coordinator ${node} cut off; delivered during the cut after its first 5 s: ${during}, longest gap ${longestGap} ms`);
    const s = await system.reconcile('the mailer cut off from its group coordinator (defaults)');
    t.comment(`every email delivered ${Date.now() - healedAt} ms after the cut healed`);
    t.equal(s.lost, 0, '0 of the 202s lost');
    t.equal(s.duplicated, 0);
    // The partitions of the brokers it reaches go on: a heartbeat or a commit the coordinator does
    // not answer holds a batch 1 s, not for the 30 s request timeout (kafkajs-heartbeat-patch.mjs).
    // How many it delivers depends on the host (1,629 to 11,099 in the cut's last 55 s); a stop of
    // every partition for a request's timeout does not (27 s in a run of the patch's first version).
    t.ok(longestGap < 10_000, `no delivery for at most ${longestGap} ms during the cut (under 10 s)`);
  },
);

/** From the SIGTERM of a member to the rejoin of the one that stays, the cut still on: a heartbeat interval (3 s), the sends in flight, and a fetch to the cut broker given 2 s. */
const REJOIN_MS = 15_000;
/**
 * The mailer's SHUTDOWN_TIMEOUT_MS (30 s). Its waits share that one deadline (runtime/shutdown-deadline.ts):
 * before, its drain of events produced for the cut broker's partitions, bounded wait after bounded wait,
 * took 5 s in most runs, 20 s in one and in ci109 reached the forced exit (code 1 at 30.1 s).
 */
const SHUTDOWN_MS = 30_000;

t.test(
  '27. A rolling update of the mailers (one SIGTERMed, a new one started) while they are cut off from the first broker of their list, not the group coordinator → the group rebalances within seconds and goes on delivering the other brokers’ partitions, the new mailer boots and joins during the cut, the old one exits 0, 0 lost, 0 twice (defaults)',
  { skip },
  async (t) => {
    const proxy = await BrokerProxy.start(t, proxied as string);
    const system = await System.start(t, { mailers: 0 });
    const coordinator = await coordinatorOf(system.mailerEnv.CONSUMER_GROUP!);
    const node = [1, 2, 3].find((n) => n !== coordinator)!;
    // The cut broker first in KAFKA_BROKERS: a client connects through the first address it lists.
    const addresses = proxy.brokers.split(',');
    const brokers = [addresses[node - 1], ...addresses.filter((_, i) => i !== node - 1)].join(',');
    const env = { KAFKA_BROKERS: brokers, LOG_LEVEL: 'info' };
    const [kept, replaced] = await Promise.all([system.startMailer(60_000, env), system.startMailer(60_000, env)]);
    const load = system.load(4);
    await sleep(5_000);
    proxy.cut(node);
    const cutAt = Date.now();
    // Into the cut: each mailer's fetch to the cut broker is waiting out its 30 s timeout.
    await sleep(10_000);
    const keptJoins = kept!.counter(/"msg":"joined consumer group"/);
    const stoppedAt = Date.now();
    replaced!.child.kill('SIGTERM');
    let exitMs = 0;
    const exited = replaced!.exited.then((e) => {
      exitMs = Date.now() - stoppedAt;
      return e;
    });
    const fresh = await system.spawnMailer(env);
    const freshJoins = fresh.counter(/"msg":"joined consumer group"/);
    // The new mailer's boot: a seed that does not answer is passed over after 3 s, and what any broker
    // answers goes to one that does (scripts/kafkajs-seed-broker-patch.mjs, kafkajs-stalled-broker-patch.mjs).
    // Before, a question to the cut broker (never connected, or named controller at random) held its boot
    // 30 s a try: it joined 30-35 s after the SIGTERM, or only after the heal (three runs of six).
    const freshJoined = eventually(() => freshJoins() >= 1, 120_000, 100).then((ok) => (ok ? Date.now() - stoppedAt : null));
    // Each waited for until the cut heals (50 s after the SIGTERM); the bound is asserted below.
    const when = async (joined: () => number) =>
      (await eventually(() => joined() >= 1, cutAt + CUT_MS - Date.now(), 100)) ? Date.now() - stoppedAt : null;
    const keptRejoinMs = await when(keptJoins);
    const exit = await exited;
    await sleep(Math.max(0, cutAt + CUT_MS - Date.now()));
    const healing = Date.now();
    const longestGap = system.sink.longestGap(stoppedAt, healing);
    const during = system.sink.received.filter((r) => r.at >= stoppedAt && r.at <= healing).length;
    proxy.heal();
    const freshJoinMs = await freshJoined;
    await sleep(5_000);
    await load.stop();
    t.comment(
      `node ${node} cut off (coordinator ${coordinator}); after the SIGTERM: the kept mailer joined again at ${keptRejoinMs} ms, the new one joined at ${freshJoinMs} ms, the old one exited (${exit.code}) at ${exitMs} ms; ${during} delivered from the SIGTERM to the heal, longest gap ${longestGap} ms`,
    );
    const s = await system.reconcile('a rolling update of the mailers while they are cut off from one broker (defaults)');
    t.equal(s.lost, 0, '0 of the 202s lost');
    t.equal(s.duplicated, 0);
    t.ok(
      exitMs < SHUTDOWN_MS && exit.code === 0,
      `the SIGTERMed mailer exited 0 within its shutdown deadline (code ${exit.code} after ${exitMs} ms)`,
    );
    t.ok(
      keptRejoinMs !== null && keptRejoinMs < REJOIN_MS,
      `the kept mailer joined again ${keptRejoinMs} ms after the SIGTERM (under ${REJOIN_MS} ms)`,
    );
    const healedMs = healing - stoppedAt;
    t.ok(
      freshJoinMs !== null && freshJoinMs < healedMs,
      `the new mailer booted and joined during the cut (${freshJoinMs} ms after the SIGTERM; healed at ${healedMs} ms)`,
    );
    t.ok(longestGap < 10_000, `no delivery for at most ${longestGap} ms from the SIGTERM to the heal (under 10 s)`);
  },
);
