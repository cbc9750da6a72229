// test-plan: standalone

import type { PartitionMetadata } from 'kafkajs';
import t from 'tap';
import { LEADERS_STALE_MS, LEADERS_WAIT_MS, LeaderWatch } from '../../src/leader-watch.js';

const partitions = (leader: number): PartitionMetadata[] =>
  Array.from({ length: 3 }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader, replicas: [1, 2, 3], isr: [1, 2, 3] }));

/** Metadata reads the test answers when it likes (a broker that does not answer never does). */
function reads() {
  const pending: { resolve(p: PartitionMetadata[]): void; reject(e: Error): void }[] = [];
  const read = () => new Promise<PartitionMetadata[]>((resolve, reject) => pending.push({ resolve, reject }));
  return { read, pending };
}
/** A watch on reads the test answers, with a clock it sets. */
function watched() {
  const { read, pending } = reads();
  const clock = { now: 0 };
  return {
    pending,
    clock,
    watch: new LeaderWatch(
      read,
      () => {},
      () => clock.now,
    ),
  };
}
const tick = () => new Promise((r) => setImmediate(r));

t.test('a read that does not answer: the probe asks again, and answers from the newest read that ended', async (t) => {
  let clock = 0;
  const { read, pending } = reads();
  const seen: number[] = [];
  const watch = new LeaderWatch(
    read,
    (p) => seen.push(p.length),
    () => clock,
  );
  const first = watch.led();
  pending[0]?.resolve(partitions(1));
  t.ok(await first, 'every partition led');
  t.same(seen, [3], 'the placement got the partitions');

  // The next probe's read goes to a broker that does not answer; its second read is answered.
  clock += 1_000;
  const probe = watch.led();
  await new Promise((r) => setTimeout(r, LEADERS_WAIT_MS + 50));
  t.equal(pending.length, 3, 'after LEADERS_WAIT_MS a second read was started');
  clock += 1_000;
  pending[2]?.resolve(partitions(2));
  t.ok(await probe, 'ready, from the second read');
  clock += 1_000;
  pending[1]?.reject(new Error('Request Metadata(key: 3, version: 6) timed out'));
  await tick();
  t.ok(await watch.led(), 'the first read failing 30 s later does not overrule the newer answer');
  pending[3]?.resolve(partitions(3));
});

t.test("reads that do not answer: a probe is answered within the kubelet's default probe timeout (1 s)", async (t) => {
  const { pending, watch, clock } = watched();
  const first = watch.led();
  pending[0]?.resolve(partitions(1));
  t.ok(await first);
  clock.now = 5_000;
  const asked = performance.now();
  t.ok(await watch.led(), 'the last answer');
  const took = performance.now() - asked;
  // Twice LEADERS_WAIT_MS; with 1 s waits a probe took 2 s, a failure to the kubelet (e2e 24).
  t.ok(took < 1_000, `answered after ${Math.round(took)} ms`);
});

t.test('no read answers: the last answer stands until LEADERS_STALE_MS, and at most three reads are in flight', async (t) => {
  const { pending, watch, clock } = watched();
  const first = watch.led();
  pending[0]?.resolve(partitions(1));
  t.ok(await first);
  clock.now = 5_000;
  t.ok(await watch.led(), 'two reads started, neither answered: the last answer, 5 s old');
  clock.now = 10_000;
  t.ok(await watch.led(), 'a third read');
  t.equal(pending.length, 4, 'three in flight');
  clock.now = LEADERS_STALE_MS;
  t.notOk(await watch.led(), 'stale: not ready');
  t.equal(pending.length, 4, 'and no fourth read in flight');
  pending[1]?.resolve(partitions(2));
  await tick();
  t.ok(await watch.led(), 'one answered at last: ready again');
});

t.test('a read that fails is no answer; one that finds a partition without a leader is "not ready"', async (t) => {
  const { pending, watch, clock } = watched();
  /** A probe whose reads all end as `end` says, at once. */
  const probe = async (end: (p: (typeof pending)[number]) => void) => {
    clock.now += 1_000;
    const answer = watch.led();
    for (const p of pending.splice(0)) end(p);
    await new Promise((r) => setTimeout(r, LEADERS_WAIT_MS + 50));
    for (const p of pending.splice(0)) end(p);
    return answer;
  };
  const refuse = (p: (typeof pending)[number]) => p.reject(new Error('Connection refused'));
  t.notOk(await probe(refuse), 'never answered: not ready');
  t.ok(await probe((p) => p.resolve(partitions(1))), 'answered');
  t.ok(await probe(refuse), 'a failed read after it: the answer stands');
  t.notOk(
    await probe((p) => p.resolve([...partitions(1), { ...partitions(1)[0]!, partitionId: 3, leader: -1 }])),
    'a partition without a leader',
  );
});
