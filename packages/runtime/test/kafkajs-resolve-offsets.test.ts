// test-plan: standalone

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { RESOLVE_OFFSETS_PATCH_MARKER } from '../src/kafkajs-patch.js';
import { kafkajsModule, patchFrom } from './helpers/kafkajs-source.js';

// kafkajs' own OffsetManager, as installed here and as kafkajs ships it: a fetcher that resolves the
// starting offsets of its broker's partitions while another broker, leading other partitions of the
// member, does not answer (scripts/kafkajs-resolve-offsets-patch.mjs). e2e 27
// (test/e2e/network-partition.test.ts) is the same path in a real group, one broker cut off.

const require = createRequire(import.meta.url);
const RESOLVE_OFFSETS_PATCH = await patchFrom('kafkajs-resolve-offsets-patch.mjs', 'RESOLVE_OFFSETS_PATCH');

type OffsetManager = new (
  options: object,
) => {
  resolveOffsets(only?: { topic: string; partitions: number[] }[]): Promise<void>;
  committedOffsets(): Record<string, Record<string, string>>;
};

/**
 * A member of topic `t`'s partitions 0–3, none committed yet; partitions 2 and 3 are led by a broker
 * that does not answer. Says which partitions the coordinator and the leaders were asked about.
 */
function manager(version: 'installed' | 'original') {
  const Manager = kafkajsModule<OffsetManager>('kafkajs/src/consumer/offsetManager/index.js', version, RESOLVE_OFFSETS_PATCH);
  const askedCoordinator: number[] = [];
  const askedLeaders: number[] = [];
  const coordinator = {
    isConnected: () => true,
    offsetFetch: async ({ topics }: { topics: { topic: string; partitions: { partition: number }[] }[] }) => ({
      responses: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition }) => {
          askedCoordinator.push(partition);
          return { partition, offset: '-1' };
        }),
      })),
    }),
  };
  // The committed offsets live in kafkajs' cluster, one object a group.
  const committed: Record<string, Record<string, string>> = {};
  const cluster = {
    committedOffsets: () => committed,
    fetchTopicsOffset: async (topics: { topic: string; partitions: { partition: number }[] }[]) => {
      const partitions = topics.flatMap((x) => x.partitions.map((p) => p.partition));
      askedLeaders.push(...partitions);
      // kafkajs asks each leader its partitions at once: one that does not answer holds the answer.
      if (partitions.some((p) => p >= 2)) await new Promise(() => {});
      return topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition }) => ({ partition, offset: '0' })),
      }));
    },
  };
  const m = new Manager({ cluster, coordinator, memberAssignment: { t: [0, 1, 2, 3] }, topicConfigurations: {}, groupId: 'g' });
  return { m, askedCoordinator, askedLeaders };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p.then(() => 'resolved'), new Promise((r) => setTimeout(r, ms, 'still waiting'))]);

t.test('the kafkajs installed here carries the resolve offsets mend', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/consumer/consumerGroup.js'), 'utf8'), RESOLVE_OFFSETS_PATCH_MARKER);
  t.match(readFileSync(require.resolve('kafkajs/src/consumer/offsetManager/index.js'), 'utf8'), RESOLVE_OFFSETS_PATCH_MARKER);
});

t.test("a fetcher resolves its broker's partitions while another broker does not answer for its own", async (t) => {
  const { m, askedCoordinator, askedLeaders } = manager('installed');
  void m.resolveOffsets([{ topic: 't', partitions: [2, 3] }]);
  t.equal(await within(m.resolveOffsets([{ topic: 't', partitions: [0, 1] }]), 500), 'resolved');
  t.same(m.committedOffsets().t, { 0: '0', 1: '0' }, 'its partitions start at their earliest offset');
  t.same(askedCoordinator.sort(), [0, 1, 2, 3], 'each fetcher asked about its own');
  t.same(askedLeaders.sort(), [0, 1, 2, 3]);
});

t.test("asked without a fetcher's partitions, it resolves them all, as kafkajs does", async (t) => {
  const { m, askedCoordinator } = manager('installed');
  t.equal(await within(m.resolveOffsets(), 300), 'still waiting');
  t.same(askedCoordinator, [0, 1, 2, 3]);
});

t.test("kafkajs' own manager holds every fetcher on the broker that does not answer", async (t) => {
  const { m } = manager('original');
  t.equal(await within(m.resolveOffsets([{ topic: 't', partitions: [0, 1] }]), 500), 'still waiting');
  t.same(m.committedOffsets().t, {}, 'no partition resolved');
});
