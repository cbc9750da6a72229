import t from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { AUTH } from '../helpers/api.js';
import { coordinatorOf, groupCoordinatedBy, waitForFullIsr } from '../helpers/cluster.js';
import { sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { System } from './harness.js';

// A broker lost the way a host loses power: frozen (SIGSTOP), so nothing resets a connection and
// every request to it waits out its timeout, and it does not come back while the test looks. Unlike
// the cut of e2e 25 (network-partition.test.ts), the cluster fences it and moves its partitions and
// the group's coordination to the others; the mailer must find them, and so must the webhook
// dispatcher (its group placed under the same broker) and the mailer's outbox relay, which produces
// the events it posts. Production defaults for every timing (the services log at info, the default,
// to show their rejoins). Exclusive: it freezes a broker of the stack every file shares.

const control = stackControl();
const skip = !control && 'the stack is external (no STACK_CONTROL_URL)';
/** Load during the freeze's first seconds: emails on the partitions the others lead. */
const LOAD_MS = 20_000;
/**
 * From the freeze to the last email out. What it takes: the fetch in flight to the frozen broker
 * ends at kafkajs' 30 s request timeout; by then the cluster has fenced the broker (9 s) and moved
 * its partitions, which the next fetches follow. Measured 31–32 s (six runs); kafkajs unpatched had emails
 * still unsent 140 s after (scripts/kafkajs-silent-broker-patch.mjs).
 */
const ALL_OUT_MS = 60_000;
/**
 * From the last email out (or the last event posted), how long a rejoin through the new coordinator
 * may take, the broker still frozen: it follows the heartbeat's 30 s timeout and a look-up.
 */
const REJOIN_MS = 75_000;
/**
 * From the freeze to the last email's final event at the webhook receiver: the relay's produce to
 * the frozen broker ends at its 30 s timeout and is retried to the new leaders, then the backlog of
 * those 30 s is posted at the endpoint's 4 requests at a time (WEBHOOK_CONCURRENCY_PER_ENDPOINT):
 * 32–45 s measured (six runs, one of them CI; 12–15 s of backlog for 3,300–3,500 emails); the bound allows that
 * backlog at half the speed. Before the produce mend the events waited for the broker to come back.
 */
const WEBHOOKS_MS = 75_000;

t.test(
  '26. the broker coordinating the mailer’s group lost under load (frozen, as a host without power), with a backlog on its partitions → the mailer follows its partitions and its group to the others: every email out within 60 s, 0 lost, 0 twice, every final event posted to the webhook (defaults)',
  { skip },
  async (t) => {
    const system = await System.start(t, { mailers: 1, mailer: { LOG_LEVEL: 'info' } });
    const mailer = system.mailers[0]!;
    const joins = mailer.counter(/"msg":"joined consumer group"/);
    const node = await coordinatorOf(system.mailerEnv.CONSUMER_GROUP!);
    const pid = (await control!.kafkaNodes()).find((n) => n.id === node)?.pid;
    if (!pid) throw new Error(`broker ${node} has no pid`);
    // The webhook dispatcher's group under the same broker: its consumer runs the same kafkajs, and
    // the events it reads are produced by the mailers' outbox relay, to partitions the broker leads too.
    const dispatcher = await system.startWebhooks({
      WEBHOOK_CONSUMER_GROUP: await groupCoordinatedBy(node, `${system.mailerEnv.CONSUMER_GROUP}.webhooks`),
      LOG_LEVEL: 'info',
    });
    const receiver = await new WebhookReceiver().start();
    t.teardown(() => receiver.stop());
    await receiver.subscribe(system.apiUrl, AUTH);
    await sleep(1_500); // the dispatcher's endpoint list is at most a second old
    const load = system.load(4);
    await sleep(5_000);
    // A backlog on every partition, the broker's own among them: accepted, replicated to the two
    // others (acks=all), not yet read by the mailer when the broker goes.
    const frozen = new Set<number>();
    t.teardown(() => {
      for (const p of frozen) process.kill(p, 'SIGCONT');
    });
    const freeze = (p: number) => {
      frozen.add(p);
      process.kill(p, 'SIGSTOP');
    };
    const thaw = (p: number) => {
      frozen.delete(p);
      process.kill(p, 'SIGCONT');
    };
    freeze(mailer.child.pid!);
    await sleep(3_000);
    freeze(pid);
    const frozenAt = Date.now();
    const dispatcherJoins = dispatcher.counter(/"msg":"joined consumer group"/);
    // The API's sends to the frozen leader's partitions: kafkajs retried them to it until the
    // producer pool gave them up at 60 s (SendAbandonedError); they now go to the new leaders.
    const abandoned = system.api.counter(/SendAbandonedError/);
    thaw(mailer.child.pid!);
    await sleep(LOAD_MS);
    await load.stop();
    // Every 202 delivered while the broker is still frozen: reconcile waits for them.
    const s = await system.reconcile('a broker lost under load, the group coordinator (defaults)');
    const times = system.sink.received.filter((r) => r.at >= frozenAt).map((r) => r.at);
    const allOutMs = Math.max(...times) - frozenAt;
    const longestGap = system.sink.longestGap(frozenAt);
    // The rejoin follows a heartbeat's 30 s timeout and a look-up, so it may come just after the
    // last email (CI saw it after the thaw once): it is waited for, the broker still frozen.
    await eventually(() => joins() >= 1, REJOIN_MS, 250);
    const joined = joins();
    // Every email's final event signed and posted to the receiver, the broker still frozen.
    const ids = [...system.accepted.values()];
    const finalOf = (id: string) => receiver.of(id).find((d) => d.final);
    await eventually(() => ids.every((id) => finalOf(id)), WEBHOOKS_MS - (Date.now() - frozenAt), 250);
    const unannounced = ids.filter((id) => !finalOf(id));
    const eventsOutMs = Math.max(...ids.map((id) => finalOf(id)?.receivedAt ?? Date.now())) - frozenAt;
    await eventually(() => dispatcherJoins() >= 1, REJOIN_MS, 250);
    const dispatcherJoined = dispatcherJoins();
    thaw(pid);
    t.comment(
      `coordinator ${node} frozen; the last email out ${allOutMs} ms after; longest gap ${longestGap} ms; ${times.length} delivered meanwhile; joined again ${joined} times; the last final event posted ${eventsOutMs} ms after, the dispatcher joined again ${dispatcherJoined} times`,
    );
    t.same(unannounced.slice(0, 3), [], `every email's final event posted to the webhook (${unannounced.length} of ${ids.length} not)`);
    t.same(receiver.badSignatures.slice(0, 3), [], 'every signature verified by standardwebhooks');
    t.ok(eventsOutMs < WEBHOOKS_MS, `the last final event posted ${eventsOutMs} ms after the freeze (under ${WEBHOOKS_MS} ms)`);
    t.ok(dispatcherJoined >= 1, `the dispatcher joined its group again before the broker came back (${dispatcherJoined} times)`);
    t.equal(abandoned(), 0, "no API send given up on the frozen broker: kafkajs' retry went to the new leader");
    t.equal(s.lost, 0, '0 of the 202s lost');
    t.equal(s.duplicated, 0);
    t.ok(allOutMs < ALL_OUT_MS, `every email out ${allOutMs} ms after the freeze (under ${ALL_OUT_MS} ms)`);
    t.ok(joined >= 1, `the mailer joined its group again, through the new coordinator, before the broker came back (${joined} times)`);
    await waitForFullIsr(system.apiEnv.EMAILS_TOPIC!);
  },
);
