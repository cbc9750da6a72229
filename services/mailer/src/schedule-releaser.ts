import { type EmailEvent, ENVELOPE_HEADERS, queuedEvent } from '@postline/contracts';
import { type DueEmail, releaseDue } from '@postline/ledger';
import { BatchDrain, type LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';

/**
 * How often each mailer looks for due emails. Lateness is at most this plus a produce and a
 * consume (the p99 target is 5 s); each look is one index range scan of the due rows only.
 */
export const RELEASE_TICK_MS = 1_000;
/** Emails per transaction: one produce, one update. A backlog is released batch after batch. */
const BATCH = 500;

/**
 * Puts due scheduled emails back on the requests topic, as the records they were, from where
 * any mailer sends them like any other email (claim, retries, dead letters). Nothing about the
 * schedule is kept in memory: RSS does not grow with the number of scheduled emails.
 */
export class ScheduleReleaser {
  private readonly drain: BatchDrain;

  constructor(
    db: pg.Pool,
    private readonly produce: (messages: Message[]) => Promise<void>,
    private readonly metrics: MailerMetrics,
    private readonly log: LogSink,
  ) {
    this.drain = new BatchDrain(
      () => releaseDue(db, BATCH, (due) => this.publish(due)),
      BATCH,
      RELEASE_TICK_MS,
      (error) => {
        metrics.releaseErrors.inc();
        log.warn({ err: error }, 'schedule release round failed; the emails stay scheduled');
      },
    );
  }

  start(): void {
    this.drain.start();
  }

  private async publish(due: DueEmail[]): Promise<EmailEvent[]> {
    await this.produce(due.map((d) => ({ key: d.id, value: d.envelope, headers: { ...ENVELOPE_HEADERS } })));
    const now = new Date();
    for (const d of due) this.metrics.releaseLateness.observe(Math.max(0, now.getTime() - d.scheduledAt.getTime()) / 1000);
    this.metrics.released.inc(due.length);
    this.log.info({ released: due.length }, 'scheduled emails released');
    // Their `queued` event, at the time they became due for sending (the claim writes the same id).
    return due.map((d) =>
      queuedEvent({ id: d.id, account: d.account, acceptedAt: now.toISOString(), email: { tags: tagsOf(d.envelope) } }),
    );
  }

  /** No new rounds; the one in progress ends after its batch (what it has not released stays scheduled). */
  async stop(): Promise<void> {
    await this.drain.stop(false);
  }
}

function tagsOf(envelope: string): Record<string, string> | undefined {
  try {
    return (JSON.parse(envelope) as { email?: { tags?: Record<string, string> } }).email?.tags;
  } catch {
    return undefined;
  }
}
