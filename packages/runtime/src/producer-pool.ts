import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import { warnUnlessKafkajsPatched } from './kafkajs-patch.js';
import type { LogSink } from './logger.js';
import { fastDefaultPartitioner } from './murmur2.js';
import { sendCovered } from './send-covered.js';
import { withTimeout } from './with-timeout.js';

/** How long a replacement producer waits before connecting again after its connect failed. */
const RECONNECT_MS = 1_000;

/**
 * A send not ended by then is given up (its producer replaced). Why: kafkajs retries a send for as
 * long as its error is retriable (idempotence sets unbounded retries), and each caller keeps one
 * send in flight per producer, so a send that never ends stops every later one behind it for good,
 * while each caller's own deadline only rejects the records waiting. A failover ends well within
 * it: a killed broker is fenced and its partitions led elsewhere in ~10 s, and a request times out
 * after 30 s (kafkajs' requestTimeout); two of those is what a send that still has a chance takes.
 */
export const ABANDON_AFTER_MS = 60_000;

/**
 * A producer not connected by then is dropped for a new one. Why: kafkajs connects through one
 * bootstrap broker, and one that accepts the connection but answers nothing (a broker the process
 * is cut off from while the cluster is fine: e2e 24) holds the connect for kafkajs' 30 s request
 * timeout, after which it fails ("Broker not connected", measured through test/helpers/broker-proxy.ts),
 * while every send of the slot waits on it. A new producer starts from a broker picked anew
 * (createKafka shuffles them). A connect takes well under a second here; a cluster electing leaders, a few.
 */
export const CONNECT_WITHIN_MS = 10_000;

export class ConnectDeadlineError extends Error {
  override readonly name = 'ConnectDeadlineError';
}

/** A send that had not ended within ABANDON_AFTER_MS: its records may still be written (by the old producer). */
export class SendAbandonedError extends Error {
  override readonly name = 'SendAbandonedError';
}

interface Slot {
  producer: Producer;
  /** Set while the slot's producer connects (a replacement, or a send that found it unconnected). */
  connecting: Promise<void> | null;
  /** A producer with a send given up and still running in kafkajs: at most one per slot, so an outage cannot pile them up. */
  abandoned: Producer | null;
  /**
   * The producer replaced last, until its replacement connects: a send that touches none of the
   * partitions of the send that failed (`avoid`, as topic:partition) goes through it meanwhile. Why:
   * its sequence numbers are wrong only for those, and a replacement can take seconds to connect
   * (CONNECT_WITHIN_MS, and more if it too starts at a broker that does not answer), which every
   * send of the slot waited for: the API's 202s stopped for that long.
   */
  previous: { producer: Producer; avoid: Set<string> } | null;
}

const at = (topic: string, partition: number | undefined) => `${topic}:${partition}`;

/**
 * Idempotent producers, each owning every Nth partition of the topic, so each can have its own
 * batch in flight. A partition always goes through the same producer: its idempotence sequence
 * numbers live in one place, and one send at a time per producer keeps them in order.
 *
 * A producer whose send failed is replaced by a new one (a new producer id, so fresh sequence
 * numbers) before its next send. Why: kafkajs (2.2.4, producer/sendMessages.js) rolls back the
 * sequence numbers of every partition in a broker request that failed, including partitions the
 * broker had written. With retriable errors the retry re-sends those same records, and the broker
 * rightly deduplicates them; after a non-retriable error (MESSAGE_TOO_LARGE on one partition) the
 * next send reuses the numbers for new records, and the broker acknowledges them as duplicates
 * without writing them: accepted, then lost.
 */
export class ProducerPool {
  private readonly slots: Slot[];
  /** Producers whose connect() resolved (kafkajs emits CONNECT before it has a producer id). */
  private readonly live = new Set<Producer>();
  /** Sends in flight per producer: a replaced one is disconnected once its last send ends. */
  private readonly sending = new Map<Producer, number>();
  private readonly retired = new Set<Producer>();
  private closed = false;
  private readonly abandonAfterMs: number;
  private readonly connectWithinMs: number;

  constructor(
    private readonly kafka: Kafka,
    size: number,
    private readonly log: LogSink,
    private readonly compression: 'none' | 'gzip' = 'none',
    deadlines: { abandonAfterMs?: number; connectWithinMs?: number } = {},
  ) {
    this.abandonAfterMs = deadlines.abandonAfterMs ?? ABANDON_AFTER_MS;
    this.connectWithinMs = deadlines.connectWithinMs ?? CONNECT_WITHIN_MS;
    this.slots = Array.from({ length: size }, () => ({ producer: this.create(), connecting: null, abandoned: null, previous: null }));
    warnUnlessKafkajsPatched(log);
  }

  private create(): Producer {
    // Never auto-created: a topic deleted under a running service would come back with the
    // cluster's defaults (one replica, min.insync.replicas=1), which boot refuses (topic-durability.ts).
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: fastDefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    producer.on(producer.events.DISCONNECT, () => this.live.delete(producer));
    return producer;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Which producer sends `partition`. */
  owner(partition: number): number {
    return partition % this.slots.length;
  }

  /**
   * Every slot can send: its producer connected, or the one it replaces still is (`previous`: it
   * takes every partition but those of the send that failed while the replacement connects).
   */
  get connected(): boolean {
    return this.slots.every((s) => this.live.has(s.producer) || (s.previous !== null && this.live.has(s.previous.producer)));
  }

  async connect(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.connectSlot(s)));
  }

  /** Connects the slot's producer unless it is; concurrent callers share one attempt. */
  private connectSlot(slot: Slot): Promise<void> {
    if (slot.connecting) return slot.connecting;
    const producer = slot.producer;
    if (this.live.has(producer)) return Promise.resolve();
    const attempt = producer.connect();
    const deadline = () => new ConnectDeadlineError(`not connected within ${this.connectWithinMs} ms`);
    slot.connecting = withTimeout(attempt, this.connectWithinMs, 'producer connect', deadline)
      .then(
        () => {
          if (this.closed) return;
          this.live.add(producer);
          if (slot.producer === producer) this.forgetPrevious(slot);
        },
        (error: Error) => {
          if (error instanceof ConnectDeadlineError) this.dropUnconnected(slot, producer, attempt);
          throw error;
        },
      )
      .finally(() => {
        if (slot.producer === producer) slot.connecting = null;
      });
    return slot.connecting;
  }

  /** `producer` did not connect within connectWithinMs: a new one takes the slot, and it is disconnected. */
  private dropUnconnected(slot: Slot, producer: Producer, attempt: Promise<void>): void {
    if (this.closed || slot.producer !== producer) return;
    this.log.warn({ withinMs: this.connectWithinMs }, 'a producer did not connect in time: replacing it (its broker may not answer)');
    slot.producer = this.create();
    slot.connecting = null;
    // Now, and again if its connect ends after all (kafkajs may connect again inside its retries).
    void this.quietly(producer.disconnect());
    attempt.then(
      () => void this.quietly(producer.disconnect()),
      () => {},
    );
  }

  /** acks=all send through producer `index` of messages pinned to partitions it owns. */
  async send(index: number, topic: string, messages: Message[], timeout: number): Promise<void> {
    const slot = this.slots[index] as Slot;
    let producer: Producer;
    // Again if the slot was replaced while this send waited (a concurrent send of the mailer's shared producer failed).
    do {
      const previous = this.usablePrevious(slot, topic, messages);
      if (previous) {
        producer = previous;
        break;
      }
      // A producer dropped for not connecting in time: try its replacement.
      await this.connectSlot(slot).catch((error: Error) => {
        if (!(error instanceof ConnectDeadlineError)) throw error;
      });
      producer = slot.producer;
    } while (!this.closed && !this.live.has(producer));
    const compression = this.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.sending.set(producer, (this.sending.get(producer) ?? 0) + 1);
    const sent = sendCovered(
      (pending) => producer.send({ topic, acks: -1, timeout, compression, messages: pending }),
      messages,
      (partitions) => this.log.warn({ partitions }, 'kafkajs left partitions of a send unacknowledged: sending them again'),
    )
      .catch((error: Error) => {
        // A kafkajs send that failed, or ten rounds that each left a partition out (this producer's
        // own metadata and connections, each kafkajs producer has its own, keep sending it nowhere).
        this.replace(slot, producer, error, topic, messages);
        throw error;
      })
      .finally(() => this.ended(slot, producer));
    await this.withinDeadline(slot, producer, sent, topic, messages);
  }

  /**
   * `sent`, or a SendAbandonedError once it has run abandonAfterMs. Not while another producer of
   * the slot has a send given up and still running: a long outage then holds one, not one a minute.
   */
  private withinDeadline(slot: Slot, producer: Producer, sent: Promise<void>, topic: string, messages: Message[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const giveUp = () => {
        if (this.closed) return;
        if (slot.abandoned && slot.abandoned !== producer) {
          timer = setTimeout(giveUp, this.abandonAfterMs);
          return;
        }
        slot.abandoned = producer;
        const error = new SendAbandonedError(`a send to ${topic} had not ended after ${this.abandonAfterMs} ms`);
        this.replace(slot, producer, error, topic, messages);
        reject(error);
      };
      timer = setTimeout(giveUp, this.abandonAfterMs);
      sent.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /** One send of `producer` ended: a replaced producer is disconnected after its last. */
  private ended(slot: Slot, producer: Producer): void {
    const left = (this.sending.get(producer) ?? 1) - 1;
    if (left > 0) this.sending.set(producer, left);
    else {
      this.sending.delete(producer);
      if (slot.abandoned === producer) slot.abandoned = null;
      this.disconnectIfDone(slot, producer);
    }
  }

  /** A replaced producer with no send left, and no longer the slot's `previous`, is disconnected. */
  private disconnectIfDone(slot: Slot, producer: Producer): void {
    if (slot.previous?.producer === producer || this.sending.has(producer)) return;
    if (this.retired.delete(producer)) void this.quietly(producer.disconnect());
  }

  /** A send of `failed` ended in error: the slot gets a new producer, connected now so readiness holds. */
  private replace(slot: Slot, failed: Producer, error: Error, topic: string, messages: Message[]): void {
    if (this.closed) return;
    // A send through `previous` failed too: it is no longer safe for any partition.
    if (slot.previous?.producer === failed) this.forgetPrevious(slot);
    // Another send of the same producer failed first (the mailer shares one across topics).
    if (slot.producer !== failed) return;
    this.log.warn({ err: error }, 'a produce failed: replacing its producer, so no later send reuses its sequence numbers');
    slot.producer = this.create();
    slot.connecting = null;
    // Its other sends in flight (other partitions, unaffected) finish first; `send` disconnects it after the last.
    this.retired.add(failed);
    // Records kafkajs placed itself (no partition) could be anywhere: then nothing goes through it.
    const pinned = messages.every((m) => m.partition !== undefined);
    if (pinned && this.live.has(failed)) slot.previous = { producer: failed, avoid: new Set(messages.map((m) => at(topic, m.partition))) };
    this.keepConnecting(slot, slot.producer);
  }

  /** The slot's previous producer, if `messages` may go through it while its replacement is not connected. */
  private usablePrevious(slot: Slot, topic: string, messages: Message[]): Producer | null {
    const previous = slot.previous;
    if (!previous || this.live.has(slot.producer) || !this.live.has(previous.producer)) return null;
    return messages.every((m) => m.partition !== undefined && !previous.avoid.has(at(topic, m.partition))) ? previous.producer : null;
  }

  private forgetPrevious(slot: Slot): void {
    const previous = slot.previous?.producer;
    slot.previous = null;
    if (previous) this.disconnectIfDone(slot, previous);
  }

  private keepConnecting(slot: Slot, producer: Producer): void {
    this.connectSlot(slot).catch((error: Error) => {
      if (this.closed) return;
      // Dropped for not connecting in time: keep at its replacement.
      if (error instanceof ConnectDeadlineError) return this.keepConnecting(slot, slot.producer);
      if (slot.producer !== producer) return;
      this.log.warn({ err: error }, 'replacement producer not connected: trying again');
      setTimeout(() => this.keepConnecting(slot, producer), RECONNECT_MS).unref();
    });
  }

  private async quietly(done: Promise<void>): Promise<void> {
    await done.catch((error: Error) => this.log.warn({ err: error }, 'replaced producer did not disconnect cleanly'));
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    const producers = [...this.slots.map((s) => s.producer), ...this.retired];
    this.retired.clear();
    await Promise.all(producers.map((p) => p.disconnect()));
  }
}
