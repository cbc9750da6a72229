import type { Consumer } from 'kafkajs';
import type { LogSink } from './logger.js';

/**
 * Keeps a kafkajs consumer running. kafkajs restarts a crashed consumer only after retriable
 * errors; after any other (e.g. no broker reachable while two of three are down) it stays
 * stopped while the process looks healthy — emails would pile up unsent. Here every crash
 * that kafkajs will not restart rebuilds the consumer, with growing pauses, until it runs.
 */
export class ConsumerSupervisor {
  private consumer: Consumer | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private readonly onJoin = new Set<() => void>();
  private batches = 0;
  ready = false;

  constructor(
    private readonly create: () => Consumer,
    private readonly start: (consumer: Consumer) => Promise<void>,
    private readonly log: LogSink,
    /** How long stop() waits for kafkajs to leave the group before it asks whether a batch still runs. */
    private readonly leaveWaitMs = LEAVE_WAIT_MS,
  ) {}

  /** `eachBatch`, counted: stop() waits for a batch that runs, never for a group join. */
  counted<P>(eachBatch: (payload: P) => Promise<void>): (payload: P) => Promise<void> {
    return async (payload) => {
      this.batches++;
      try {
        await eachBatch(payload);
      } finally {
        this.batches--;
      }
    };
  }

  async run(): Promise<void> {
    const consumer = this.create();
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.ready = true;
      this.attempt = 0;
      for (const resolve of this.onJoin) resolve();
      this.onJoin.clear();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.ready = false;
      // One kafkajs restarts itself (a retriable error: a coordinator still loading) needs no one.
      const at = e.payload.restart ? 'warn' : 'error';
      this.log[at]({ err: e.payload.error, restartedByKafkajs: e.payload.restart }, 'consumer crashed');
      if (!e.payload.restart) this.rebuildSoon(consumer);
    });
    try {
      await this.start(consumer);
    } catch (error) {
      if (this.stopped) return; // stopped while joining (SIGTERM during boot): not a failure
      this.log.error({ err: error }, 'consumer could not start');
      this.rebuildSoon(consumer);
    }
  }

  /** Resolves at the next group join (of this consumer or a rebuilt one); rejects if `signal` aborts. */
  joined(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => resolve();
      this.onJoin.add(done);
      signal.addEventListener('abort', () => {
        this.onJoin.delete(done);
        reject(signal.reason);
      });
    });
  }

  private rebuildSoon(old: Consumer): void {
    if (this.stopped || this.timer || old !== this.consumer) return;
    const delay = Math.min(30_000, 1_000 * 2 ** this.attempt++);
    this.log.warn({ delayMs: delay }, 'rebuilding the consumer');
    this.timer = setTimeout(async () => {
      this.timer = null;
      await old.disconnect().catch(() => {});
      if (!this.stopped) await this.run();
    }, delay);
  }

  /**
   * Disconnects: kafkajs waits for the batches in progress (which finish the records in flight),
   * then leaves the group so the partitions move at once. But its disconnect also waits for a
   * group join in progress, and with the coordinator unreachable a join can outlast the shutdown
   * deadline (a chaos run: 30 s, exit 1), and for every request in flight, such as a fetch left to a
   * broker that does not answer (scripts/kafkajs-fetcher-stop-patch.mjs; by then the member has left).
   * No batch running means nothing to finish or commit, so then it stops waiting: a member that had
   * not left is dropped by the group after its session timeout, as after a crash.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ready = false;
    if (this.timer) clearTimeout(this.timer);
    const consumer = this.consumer;
    if (!consumer) return;
    const started = performance.now();
    let left = false;
    const leaving = consumer.disconnect().then(() => {
      left = true;
    });
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([leaving, new Promise((resolve) => (timer = setTimeout(resolve, this.leaveWaitMs)))]);
      } finally {
        clearTimeout(timer);
      }
      if (left) return;
      if (this.batches === 0) break;
    }
    leaving.catch((error) => this.log.debug({ err: error }, 'consumer disconnect failed after stop'));
    const waitedMs = Math.round(performance.now() - started);
    this.log.warn(
      { waitedMs },
      'stopped without waiting for kafkajs to disconnect: no batch runs, and it still waits (for a join the coordinator has not answered, or a broker that does not answer)',
    );
  }
}

/** kafkajs leaves within a fetch's wait (100 ms) and one request when nothing holds it. */
const LEAVE_WAIT_MS = 5_000;
