import type { Test } from 'tap';
import type { StackControl } from '../../packages/stack/src/control-client.js';
import { sleep } from './env.js';
import { testKafka } from './kafka.js';

/** The broker leading the most partitions of `topic`: the one whose loss hurts most. */
export async function leaderOfMost(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const counts = new Map<number, number>();
    for (const p of meta.topics[0]!.partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  } finally {
    await admin.disconnect();
  }
}

/** The brokers coordinating `groups`, in order: the leaders of their __consumer_offsets partitions, from one metadata read. */
async function coordinatorsOf(groups: string[]): Promise<number[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // A coordinator look-up: Kafka creates __consumer_offsets on the first one (a fresh stack has none).
    await admin.describeGroups([groups[0]!]);
    const partitions = (await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics[0]!.partitions;
    return groups.map((group) => {
      // Java's String.hashCode, as Kafka computes it, then Kafka's Utils.abs.
      let hash = 0;
      for (let i = 0; i < group.length; i++) hash = (Math.imul(hash, 31) + group.charCodeAt(i)) | 0;
      const partition = (hash === -(2 ** 31) ? 0 : Math.abs(hash)) % partitions.length;
      return partitions.find((p) => p.partitionId === partition)!.leader;
    });
  } finally {
    await admin.disconnect();
  }
}

/** The broker coordinating `group`. */
export async function coordinatorOf(group: string): Promise<number> {
  return (await coordinatorsOf([group]))[0]!;
}

/**
 * A consumer group name, `prefix` or `prefix-N`, that `node` coordinates (Kafka places a group by
 * its name's hash): a scenario that loses one broker can put two groups under it.
 */
export async function groupCoordinatedBy(node: number, prefix: string): Promise<string> {
  const names = Array.from({ length: 60 }, (_, n) => (n === 0 ? prefix : `${prefix}-${n}`));
  const coordinators = await coordinatorsOf(names);
  const name = names.find((_, i) => coordinators[i] === node);
  if (!name) throw new Error(`no group named ${prefix}[-N] is coordinated by broker ${node}`);
  return name;
}

/** Waits (up to a minute) until every partition of `topic` has all three replicas in sync. */
export async function waitForFullIsr(topic: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    for (let i = 0; i < 120; i++) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      if (meta.topics[0]!.partitions.every((p) => p.isr.length === 3)) return;
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Bounces the leader of most of `topic`'s partitions `times` times: SIGKILL, 3 s down, restart,
 * wait for the full ISR. A teardown restarts each node in case the test fails midway.
 */
export async function bounceLeaders(t: Test, control: StackControl, topic: string, times: number): Promise<void> {
  for (let bounce = 0; bounce < times; bounce++) {
    const node = await leaderOfMost(topic);
    t.teardown(() => control.kafka(node, 'start'));
    await control.kafka(node, 'kill');
    await sleep(3_000);
    await control.kafka(node, 'start');
    await waitForFullIsr(topic);
  }
}
