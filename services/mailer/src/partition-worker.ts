import type { OffsetCommits } from '@postline/runtime';
import type { EachBatchPayload } from 'kafkajs';
import type { HandleResult, InboundRecord } from './record-handler.js';
import type { RejoinSignal } from './rejoin-signal.js';
import type { StallMonitor } from './stall-monitor.js';

export interface WorkerOptions {
  /** Sends in flight within one partition. */
  concurrency: number;
  handle(record: InboundRecord): Promise<HandleResult>;
  onDefer(reason: string): void;
  /** Called with a function that resumes the partition, and when. */
  scheduleResume(resume: () => void, ms: number): void;
  stopping(): boolean;
  onError(error: unknown): void;
  /** Told when each record starts and ends (or fails) and when the partition pauses on purpose. */
  monitor: Pick<StallMonitor, 'started' | 'finished' | 'failed' | 'deferred'>;
  /** How often to heartbeat while the batch is worked through (kafkajs has no background heartbeat). */
  heartbeatMs: number;
  /** Commits what the batch resolved, when due (offset-commits.ts). */
  commits: Pick<OffsetCommits, 'afterBatch'>;
  /** Shared by the consumer's batches: a heartbeat heard that the member must join its group again. */
  rejoin: RejoinSignal;
}

/** A record whose handling threw is tried again after this. */
const ERROR_RETRY_MS = 1_000;

/**
 * Processes one fetched batch of a partition with up to `concurrency` records in flight, and
 * resolves offsets only over the contiguous prefix of finished records: a committed offset
 * never skips a record that is not done. A record that must wait (retry not due, ledger or
 * SMTP down) stops the batch and pauses the partition; it is fetched again on resume. A heartbeat
 * that says the group is rebalancing stops it too, and the batch then throws that error, so kafkajs
 * rejoins once the sends in flight end rather than once the whole batch is sent (rejoin-signal.ts);
 * the rest is fetched again by whoever gets the partition.
 */
export async function processBatch(payload: EachBatchPayload, options: WorkerOptions): Promise<void> {
  const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
  const messages = batch.messages;
  const done: boolean[] = messages.map(() => false);
  let resolved = -1;
  let deferred: { index: number; ms: number } | null = null;
  const inFlight = new Set<Promise<void>>();

  const deferAt = (index: number, ms: number) => {
    if (!deferred || index < deferred.index) deferred = { index, ms };
  };
  const advance = () => {
    while (resolved + 1 < messages.length && done[resolved + 1]) {
      resolved++;
      resolveOffset((messages[resolved] as (typeof messages)[number]).offset);
    }
  };
  const beat = () => heartbeat().catch((error: unknown) => options.rejoin.heard(error));
  const { topic, partition } = batch;
  // Slow sends must not cost the group membership: a batch of slow records can take longer than
  // the session timeout, and a member evicted mid-batch means its records are sent twice.
  const heartbeats = setInterval(beat, options.heartbeatMs);
  try {
    for (let next = 0; next < messages.length; ) {
      if (deferred || options.rejoin.pending || !isRunning() || isStale() || options.stopping()) break;
      if (inFlight.size >= options.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      const index = next++;
      const message = messages[index] as (typeof messages)[number];
      options.monitor.started(topic, partition, message.offset);
      const task = options
        .handle({ topic, partition, message, heartbeat: beat })
        .then(
          (result) => {
            options.monitor.finished(topic, partition, message.offset);
            if (result.kind === 'done') done[index] = true;
            else {
              options.onDefer(result.reason);
              options.monitor.deferred(topic, partition, result.ms);
              deferAt(index, result.ms);
            }
          },
          (error: unknown) => {
            options.onError(error);
            options.onDefer('error');
            // Tried again in a second, and not movement: failing for good is a stall (stall-monitor.ts).
            options.monitor.failed(topic, partition, message.offset);
            deferAt(index, ERROR_RETRY_MS);
          },
        )
        .then(advance)
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    advance();
    if (deferred) options.scheduleResume(pause(), (deferred as { ms: number }).ms);
    await options.commits.afterBatch(payload, options.stopping());
    await beat();
    const rejoin = options.rejoin.pending;
    if (rejoin) throw rejoin;
  } finally {
    clearInterval(heartbeats);
  }
}
