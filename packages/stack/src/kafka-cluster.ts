import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG4J_PROPERTIES, type NodeLayout, renderServerProperties } from './kafka-config.js';
import { ensureKafkaJars } from './kafka-jars.js';
import { KafkaNode } from './kafka-node.js';
import { PROXIED_LISTEN_OFFSET } from './kafka-proxied-listener.js';
import { MTLS_PORT_OFFSET, SECURE_PORT_OFFSET, type SecureListener, scramFormatArgs, secureListener } from './kafka-secure-listener.js';
import { assertPortFree } from './ports.js';
import { checkJava } from './prerequisites.js';
import { StackError } from './stack-error.js';

export interface KafkaClusterOptions {
  /** Data, logs and configs of all nodes. */
  dir: string;
  /** First client port; nodes use base, base+1, base+2 (controllers base+10000…). */
  basePort?: number;
  size?: number;
  heap?: string;
  /** Extra JVM flags for every node (see StackOptions.kafkaJvmFlags). */
  jvmFlags?: readonly string[];
  /** SASL_SSL, client-certificate and proxied listeners on each node too (kafka-secure-listener.ts, kafka-proxied-listener.ts). */
  secureListener?: boolean;
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64; one starting with '-' reads as a CLI flag. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A KRaft cluster of combined broker+controller nodes on 127.0.0.1. */
export class KafkaCluster {
  readonly nodes: KafkaNode[] = [];
  private readonly layouts: NodeLayout[];
  private readonly dir: string;
  private readonly heap: string;
  private readonly jvmFlags: readonly string[];
  private readonly withSecureListener: boolean;
  /** Set once started with a secure listener: how to reach it. */
  secure: SecureListener | null = null;

  constructor(options: KafkaClusterOptions) {
    const base = options.basePort ?? 9092;
    const size = options.size ?? 3;
    this.dir = options.dir;
    this.heap = options.heap ?? '512m';
    this.jvmFlags = options.jvmFlags ?? [];
    this.withSecureListener = options.secureListener === true;
    this.layouts = Array.from({ length: size }, (_, i) => ({
      id: i + 1,
      clientPort: base + i,
      controllerPort: base + 10_000 + i,
      logDir: join(options.dir, `node${i + 1}`, 'data'),
    }));
  }

  get brokers(): string {
    return this.addresses(0);
  }

  /** Every node's address on the listener `offset` ports above its plain one (kafka-secure-listener.ts). */
  addresses(offset: number): string {
    return this.layouts.map((l) => `127.0.0.1:${l.clientPort + offset}`).join(',');
  }

  node(id: number): KafkaNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new StackError(`There is no Kafka node ${id}; nodes are 1..${this.layouts.length}.`);
    return node;
  }

  async start(): Promise<void> {
    await checkJava();
    for (const l of this.layouts) {
      await assertPortFree(
        l.clientPort,
        `Kafka node ${l.id}`,
        'stop the other Kafka (another `npm start`?) or set KAFKA_BROKERS to use it',
      );
      await assertPortFree(l.controllerPort, `Kafka controller ${l.id}`, 'stop the other Kafka or set KAFKA_BROKERS to use it');
      if (this.withSecureListener) {
        const again = 'stop the other Kafka or set KAFKA_BROKERS to use it';
        await assertPortFree(l.clientPort + SECURE_PORT_OFFSET, `Kafka node ${l.id} (SASL_SSL)`, again);
        await assertPortFree(l.clientPort + MTLS_PORT_OFFSET, `Kafka node ${l.id} (SSL)`, again);
        await assertPortFree(l.clientPort + PROXIED_LISTEN_OFFSET, `Kafka node ${l.id} (proxied)`, again);
      }
    }
    const libs = await ensureKafkaJars();
    mkdirSync(this.dir, { recursive: true });
    const log4jFile = join(this.dir, 'log4j.properties');
    writeFileSync(log4jFile, LOG4J_PROPERTIES);
    // The id is kept with the data: formatting a node with another id would orphan its logs.
    const idFile = join(this.dir, 'cluster.id');
    if (!existsSync(idFile)) writeFileSync(idFile, newClusterId());
    const clusterId = readFileSync(idFile, 'utf8').trim();
    this.nodes.length = 0;
    for (const layout of this.layouts) {
      this.nodes.push(new KafkaNode({ layout, dir: this.dir, libs, log4jFile, heap: this.heap, jvmFlags: this.jvmFlags }));
    }
    const secure = this.withSecureListener ? secureListener(this.dir) : null;
    this.secure = secure;
    await Promise.all(
      this.nodes.map((n) =>
        n.prepare(
          renderServerProperties(layoutOf(this.layouts, n.id), this.layouts, secure ?? undefined),
          clusterId,
          secure ? scramFormatArgs(secure) : [],
        ),
      ),
    );
    try {
      // All at once: a node only reports ready after a controller quorum (2 of 3) exists.
      await Promise.all(this.nodes.map((n) => n.start()));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    // Killed together, brokers cannot complete a controlled shutdown (no quorum to hand
    // leadership to), so a short grace then SIGKILL; the data is flushed by the OS either way.
    await Promise.all(this.nodes.map((n) => n.stop(10_000)));
  }
}

function layoutOf(layouts: NodeLayout[], id: number): NodeLayout {
  const layout = layouts.find((l) => l.id === id);
  if (!layout) throw new Error(`no layout for node ${id}`);
  return layout;
}
