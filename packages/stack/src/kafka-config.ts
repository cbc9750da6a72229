import { MAX_RECORD_BYTES } from '@postline/runtime';
import { proxiedListener } from './kafka-proxied-listener.js';
import { MTLS_PORT_OFFSET, SECURE_PORT_OFFSET, type SecureListener, secureListenerProperties } from './kafka-secure-listener.js';

/** The durability settings every environment (local, compose, k8s) must share. */
export const DURABILITY = {
  'default.replication.factor': 3,
  'min.insync.replicas': 2,
  'unclean.leader.election.enable': false,
  'offsets.topic.replication.factor': 3,
  'transaction.state.log.replication.factor': 3,
  'transaction.state.log.min.isr': 2,
  'auto.create.topics.enable': false,
} as const;

/** Trims for a 2-core machine running three brokers. */
const SMALL_MACHINE = {
  'num.network.threads': 2,
  'num.io.threads': 2,
  'background.threads': 2,
  'num.replica.fetchers': 1,
  'log.cleaner.threads': 1,
  'offsets.topic.num.partitions': 6,
  'transaction.state.log.num.partitions': 6,
  // The cleaner allocates 128 MiB on-heap by default: too much for 512 MiB heaps.
  'log.cleaner.dedupe.buffer.size': 33554432,
  'group.initial.rebalance.delay.ms': 0,
} as const;

/**
 * The local stack (`npm start`, `npm test`) keeps leadership where failures put it. With Kafka's
 * default, every 300 s a broker moves leaders back to their preferred replicas, which moves a
 * consumer group's coordinator and makes its members rejoin. After a fault test restarted a
 * broker, that fired in the middle of the next test file, whose mailer then joined twice (e2e 17
 * failed once that way). Rebalances are tested on purpose (scale 1 → 3 → 1, leader kills); a
 * timer left over from another file is not. Compose and Kubernetes keep the default.
 */
const NO_LEADER_REBALANCE_TIMER = {
  'auto.leader.rebalance.enable': false,
} as const;

export interface NodeLayout {
  id: number;
  clientPort: number;
  controllerPort: number;
  logDir: string;
}

export function renderServerProperties(node: NodeLayout, quorum: NodeLayout[], secure?: SecureListener): string {
  const voters = quorum.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  // The test listeners (npm test): SASL_SSL, client certificates, and the one a test's proxy fronts.
  const proxied = proxiedListener(node.clientPort);
  const sasl = secure
    ? `,SASL_SSL://127.0.0.1:${node.clientPort + SECURE_PORT_OFFSET},MTLS://127.0.0.1:${node.clientPort + MTLS_PORT_OFFSET}`
    : '';
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.clientPort},CONTROLLER://127.0.0.1:${node.controllerPort}${sasl}${secure ? `,${proxied.listen}` : ''}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.clientPort}${sasl}${secure ? `,${proxied.advertised}` : ''}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': `CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secure ? ',SASL_SSL:SASL_SSL,MTLS:SSL,PROXIED:PLAINTEXT' : ''}`,
    ...(secure ? secureListenerProperties(secure) : {}),
    'log.dirs': node.logDir,
    'message.max.bytes': MAX_RECORD_BYTES,
    'replica.fetch.max.bytes': MAX_RECORD_BYTES,
    ...DURABILITY,
    ...SMALL_MACHINE,
    ...NO_LEADER_REBALANCE_TIMER,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Console logging only: the launcher writes each node's stdout to its own file. */
export const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.kafka.coordinator=WARN
`;
