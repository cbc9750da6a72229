// test-plan: standalone
import type { Admin } from 'kafkajs';
import t from 'tap';
import { ConfigError } from '../src/config-error.js';
import { checkExistingTopics, weaknesses } from '../src/topic-durability.js';

const strong = () =>
  new Map([
    ['min.insync.replicas', '2'],
    ['unclean.leader.election.enable', 'false'],
    ['cleanup.policy', 'delete'],
    ['max.message.bytes', '8388608'],
  ]);
const wanted = { 'max.message.bytes': '8388608' };

t.test("postline's own settings, and stronger ones, have no weakness", async (t) => {
  t.same(weaknesses(3, strong(), wanted, 3), []);
  const stronger = strong();
  stronger.set('min.insync.replicas', '3');
  stronger.set('max.message.bytes', '16777216');
  t.same(weaknesses(5, stronger, wanted, 3), []);
  // A topic whose spec asks no record size (the events topic) is not held to one.
  stronger.set('max.message.bytes', '1048588');
  t.same(weaknesses(3, stronger, {}, 3), []);
});

t.test('each weaker setting is named with the value found and the value needed', async (t) => {
  const with_ = (name: string, value: string) => {
    const config = strong();
    config.set(name, value);
    return weaknesses(3, config, wanted, 3);
  };
  t.same(weaknesses(2, strong(), wanted, 3), ['has 2 replicas of a partition, needs 3 or more']);
  t.same(with_('min.insync.replicas', '1'), ['has min.insync.replicas=1, needs 2 or more']);
  t.same(with_('unclean.leader.election.enable', 'true'), ['has unclean.leader.election.enable=true, needs false']);
  t.same(with_('cleanup.policy', 'compact'), ['has cleanup.policy=compact, needs delete']);
  t.same(with_('max.message.bytes', '8388607'), ['has max.message.bytes=8388607, needs 8388608 or more']);
});

t.test('a setting the cluster did not report is a weakness, not a pass', async (t) => {
  t.same(weaknesses(3, new Map(), wanted, 3), [
    'does not report min.insync.replicas, needs 2 or more',
    'does not report unclean.leader.election.enable, needs false',
    'does not report cleanup.policy, needs delete',
    'does not report max.message.bytes, needs 8388608 or more',
  ]);
});

t.test('a cluster whose ACLs hide topic settings: a ConfigError naming the permission, not a skipped check', async (t) => {
  const admin = (type: string) =>
    ({
      fetchTopicMetadata: async () => ({ topics: [{ name: 'emails', partitions: [{ replicas: [1, 2, 3] }] }] }),
      describeConfigs: async () => {
        throw Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), { type, retriable: false });
      },
    }) as unknown as Admin;
  for (const type of ['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED']) {
    const error = await checkExistingTopics(admin(type), [{ name: 'emails', config: wanted }], 3).catch((e: unknown) => e);
    t.ok(error instanceof ConfigError, type);
    t.match((error as Error).message, /refused to show the settings of emails .*grant its user DescribeConfigs/);
  }
  // Anything else is left to boot's retries, as before (a broker restarting, a topic still spreading).
  const other = await checkExistingTopics(admin('LEADER_NOT_AVAILABLE'), [{ name: 'emails', config: wanted }], 3).catch((e: unknown) => e);
  t.notOk(other instanceof ConfigError);
});
