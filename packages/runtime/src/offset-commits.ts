import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { LogSink } from './logger.js';
import { monotonicMs } from './monotonic-clock.js';
import { withTimeout } from './with-timeout.js';

/**
 * How long the end of a batch waits for a commit's answer, counted from when it was sent: as long
 * as kafkajs' heartbeat, patched (scripts/kafkajs-heartbeat-patch.mjs). A coordinator that does not
 * answer held each batch's end for kafkajs' 30 s request timeout, and so its partition's next fetch.
 */
const COMMIT_WAIT_MS = 1_000;

/** What the wait for a commit's answer ends with when the answer is late (never the answer's own error). */
const UNANSWERED = new Error('offset commit not answered in time');

interface InFlight {
  answer: Promise<void>;
  answerBy: number;
  late: boolean;
}

/** The two kafkajs handles of a batch that commit; they act on the consumer's whole group state. */
export type Committer = Pick<EachBatchPayload, 'commitOffsetsIfNecessary' | 'uncommittedOffsets'>;

/**
 * When a consumer (the mailers', the webhook dispatchers') commits what its batches resolved: at
 * most once per `intervalMs` (kafkajs' `autoCommitInterval`, checked at the end of each batch),
 * then once more by a timer, so the last offsets before a lull are committed within about two
 * intervals, and all of them at shutdown. kafkajs' own auto-commit commits after every batch
 * whatever its interval; at a moderate rate a batch is an email or two, and each commit is a
 * write to `__consumer_offsets` replicated three ways (measured at 100 emails/s: 90 commits/s,
 * about a tenth of a core of the brokers' two). Commits never run ahead of the work: a consumer
 * resolves only what it finished (the mailer's partition-worker.ts). What a crash leaves
 * uncommitted is read again, and both consumers are idempotent (the ledger's dedupe; delivery
 * rows queued once), as they always had to be, only for up to an interval more of it.
 */
export class OffsetCommits {
  /** The newest batch's handles, valid for as long as its consumer runs. */
  private latest: Committer | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The commit a batch's end sent and has not had its answer (one at a time). */
  private inFlight: InFlight | null = null;

  /**
   * For `consumer.run`: kafkajs' auto-commit commits after every batch whatever its interval, so
   * it is off, and the interval is what `commitOffsetsIfNecessary()` checks.
   */
  readonly runOptions: { autoCommit: false; autoCommitInterval: number };

  constructor(
    private readonly intervalMs: number,
    private readonly log: LogSink,
  ) {
    this.runOptions = { autoCommit: false, autoCommitInterval: intervalMs };
  }

  /**
   * A new consumer (its supervisor replaced the old one): the old one's handles are dropped, its
   * commits are counted by `onCommit`, and a rebalance commits everything finished.
   */
  attach(consumer: Consumer, onCommit: () => void): void {
    this.latest = null;
    // The old consumer's commit, late, would hold the new one's until its request timed out.
    this.inFlight = null;
    consumer.on(consumer.events.COMMIT_OFFSETS, onCommit);
    consumer.on(consumer.events.REBALANCING, () => void this.flush());
  }

  /**
   * The end of a batch: commits if the interval has passed, or everything when the consumer is
   * stopping. An answer within COMMIT_WAIT_MS of the commit's start is waited for (its error
   * thrown, as kafkajs would); a later one is not, and while a commit waits for its answer no other
   * is sent. A commit that fails late is logged: the next one, a second on, carries its offsets too.
   */
  async afterBatch(batch: Committer, stopping: boolean): Promise<void> {
    this.latest = batch;
    if (stopping) return batch.commitOffsetsIfNecessary(batch.uncommittedOffsets());
    if (!this.inFlight) this.inFlight = this.send(batch);
    const commit = this.inFlight;
    // Past its time already, it is late whatever comes: raced against a timer of 0 ms, a request
    // timeout that kafkajs' own timer (due first) rejects in the same turn won the race, and a
    // commit sent 30 s before was thrown as if it had been answered in time (e2e 25 saw the fetchers'
    // restart it caused wait 30 s on the broker that did not answer).
    const wait = commit.answerBy - monotonicMs();
    if (wait > 0) {
      try {
        return await withTimeout(commit.answer, wait, 'offset commit', () => UNANSWERED);
      } catch (error) {
        if (error !== UNANSWERED) throw error;
      }
    }
    if (commit.late) return;
    commit.late = true;
    commit.answer.catch((error: unknown) => this.log.debug({ err: error }, 'offset commit deferred'));
  }

  private send(batch: Committer): InFlight {
    const clear = () => {
      if (this.inFlight === commit) this.inFlight = null;
    };
    const answer = batch.commitOffsetsIfNecessary().then(clear, (error: unknown) => {
      clear();
      throw error;
    });
    const commit: InFlight = { answer, answerBy: monotonicMs() + COMMIT_WAIT_MS, late: false };
    return commit;
  }

  start(): void {
    if (this.intervalMs === 0 || this.timer) return;
    this.timer = setInterval(() => void this.due(), this.intervalMs).unref();
  }

  /**
   * Everything resolved and not committed, now: at shutdown before the group is left, and when
   * the group rebalances (kafkajs' own auto-commit did that too), so the partitions' next owners
   * start after the finished records.
   */
  async flush(): Promise<void> {
    const batch = this.latest;
    if (!batch) return;
    await batch.commitOffsetsIfNecessary(batch.uncommittedOffsets()).catch((error: unknown) => {
      // Lost only as work: the next owner re-reads those records and the ledger skips them.
      this.log.warn({ err: error }, 'could not commit the offsets of finished records; their next reader will skip them as duplicates');
    });
  }

  /** At shutdown: no more timed commits, and everything finished so far committed. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * The timer's commit, one in flight as a batch's end's: a coordinator that does not answer got
   * one more request a tick, each waiting out kafkajs' 30 s request timeout (e2e 26 saw 30 pile up).
   */
  private async due(): Promise<void> {
    if (!this.latest || this.inFlight) return;
    const commit = this.send(this.latest);
    // Its failure is logged below: a batch's end that finds it late adds no second line.
    commit.late = true;
    this.inFlight = commit;
    try {
      await commit.answer;
    } catch (error) {
      // A rebalance or a coordinator move: the next batch, or the next tick, commits.
      this.log.debug({ err: error }, 'offset commit deferred');
    }
  }
}
