import type { Admin } from 'kafkajs';
import { ConfigError } from './config-error.js';

/** The spec a topic is checked against: its name and the configs postline creates it with. */
interface Expected {
  name: string;
  config?: Record<string, string>;
}

/** The configs postline sets on every topic it creates; the check reads the same names. */
export const DURABLE = { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' } as const;

/** kafkajs' ConfigResourceTypes.TOPIC: its CommonJS build does not expose that enum to an ES import. */
const TOPIC = 2;

const READ = ['min.insync.replicas', 'unclean.leader.election.enable', 'cleanup.policy', 'max.message.bytes'];

/**
 * Refuses topics that existed before postline started (an operator's, or a cluster's auto-created ones)
 * when they are weaker than the ones postline creates. The API answers 202 on acks=all, and acks=all
 * waits only for the partition's in-sync replicas: with min.insync.replicas=1 (Kafka's default) the
 * ISR can shrink to the leader, and a 202 then stands on one disk. Unclean election lets an
 * out-of-sync replica lead and drop what the others acknowledged. A compacted topic drops all but
 * the last record of a key, and events are keyed by email. A max.message.bytes under ours refuses a
 * large email: a 5xx at the API, and a retry the mailer cannot write, which stops its partition.
 * None of these changes while the service runs, so this is a ConfigError and boot does not retry it.
 * The values read are the effective ones: a topic without its own setting has the brokers' default.
 */
export async function checkExistingTopics(admin: Admin, topics: Expected[], replicationFactor: number): Promise<void> {
  if (topics.length === 0) return;
  const names = topics.map((t) => t.name);
  const [metadata, described] = await Promise.all([
    admin.fetchTopicMetadata({ topics: names }),
    admin
      .describeConfigs({
        resources: names.map((name) => ({ type: TOPIC, name, configNames: READ })),
        includeSynonyms: false,
      })
      .catch((error: unknown) => {
        throw refusedToShow(error, names);
      }),
  ]);
  const replicas = new Map(metadata.topics.map((t) => [t.name, Math.min(...t.partitions.map((p) => p.replicas.length))]));
  const configs = new Map(
    described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))]),
  );
  const problems = topics.flatMap((topic) =>
    weaknesses(replicas.get(topic.name), configs.get(topic.name) ?? new Map(), topic.config ?? {}, replicationFactor).map(
      (w) => `topic ${topic.name} ${w}`,
    ),
  );
  if (problems.length === 0) return;
  throw new ConfigError(
    `Kafka ${problems.join('; ')}. postline promises that an accepted email survives the loss of a broker, ` +
      'so it will not start on these topics: change them (kafka-configs.sh --alter --entity-type topics ' +
      '--entity-name <topic> --add-config <name>=<value>; kafka-reassign-partitions.sh for replicas), ' +
      'or name new topics (EMAILS_TOPIC, RETRY_TOPIC, DEAD_LETTER_TOPIC, EVENTS_TOPIC) for postline to create.',
  );
}

/**
 * A cluster with ACLs that does not let postline's user read topic settings: not an outage to wait
 * out, and not a reason to skip the check. One sentence saying which permission to grant.
 */
function refusedToShow(error: unknown, names: string[]): unknown {
  const type = (error as { type?: string }).type;
  if (type !== 'TOPIC_AUTHORIZATION_FAILED' && type !== 'CLUSTER_AUTHORIZATION_FAILED') return error;
  return new ConfigError(
    `Kafka refused to show the settings of ${names.join(', ')} (${type}). postline checks that topics it did not ` +
      'create are durable before it uses them: grant its user DescribeConfigs on them ' +
      '(kafka-acls.sh --add --allow-principal User:<user> --operation DescribeConfigs --topic <topic>).',
  );
}

/** What is weaker than postline's own topics, as phrases ("has min.insync.replicas=1, needs 2 or more"). */
export function weaknesses(
  replicas: number | undefined,
  config: Map<string, string>,
  wanted: Record<string, string>,
  replicationFactor: number,
): string[] {
  const out: string[] = [];
  // A value the cluster withheld (an ACL, a proxy) is not taken for a durable one.
  const has = (name: string) => (config.has(name) ? `has ${name}=${config.get(name)}` : `does not report ${name}`);
  if (replicas !== undefined && replicas < replicationFactor)
    out.push(`has ${replicas} replica${replicas === 1 ? '' : 's'} of a partition, needs ${replicationFactor} or more`);
  const minIsr = DURABLE['min.insync.replicas'];
  if (!(Number(config.get('min.insync.replicas')) >= Number(minIsr))) out.push(`${has('min.insync.replicas')}, needs ${minIsr} or more`);
  if (config.get('unclean.leader.election.enable') !== 'false') out.push(`${has('unclean.leader.election.enable')}, needs false`);
  if (config.get('cleanup.policy') !== 'delete') out.push(`${has('cleanup.policy')}, needs delete`);
  const maxBytes = wanted['max.message.bytes'];
  if (maxBytes !== undefined && !(Number(config.get('max.message.bytes')) >= Number(maxBytes)))
    out.push(`${has('max.message.bytes')}, needs ${maxBytes} or more`);
  return out;
}
