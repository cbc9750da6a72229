import { type ParkedRetry, releaseDueRetries } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';
import { RELEASE_TICK_MS, ReleaseLoop } from './release-loop.js';

/**
 * Appends parked retry records to their topic again when due, as they were read (value and
 * headers), from where any mailer tries the email like any other retry. The email's state stays
 * `retrying` throughout; a relay pin travels in the record.
 */
export class RetryReleaser {
  private readonly loop: ReleaseLoop;

  constructor(
    private readonly db: pg.Pool,
    /** The topics this mailer reads: it releases the retries parked from them. */
    topics: readonly string[],
    private readonly produce: (topic: string, messages: Message[]) => Promise<void>,
    private readonly metrics: MailerMetrics,
    private readonly log: LogSink,
    tickMs = RELEASE_TICK_MS,
  ) {
    this.loop = new ReleaseLoop(
      (limit, horizonMs) => releaseDueRetries(this.db, topics, limit, horizonMs, (due) => this.publish(due)),
      (error) => {
        metrics.retryReleaseErrors.inc();
        log.warn({ err: error }, 'retry release round failed; the records stay parked');
      },
      tickMs,
    );
  }

  start(): void {
    this.loop.start();
  }

  /** A retry due at `at` (ms since the epoch) was just parked: release it then, not at the next tick. */
  dueAt(at: number): void {
    this.loop.dueAt(at);
  }

  private async publish(due: ParkedRetry[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const d of due) {
      const messages = byTopic.get(d.topic) ?? [];
      messages.push({ key: d.emailId, value: d.record, headers: d.headers });
      byTopic.set(d.topic, messages);
    }
    await Promise.all([...byTopic].map(([topic, messages]) => this.produce(topic, messages)));
    this.metrics.retriesReleased.inc(due.length);
    this.log.info({ released: due.length }, 'parked retries released');
  }

  /** No new rounds; the one in progress ends after its batch (what it has not released stays parked). */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}
