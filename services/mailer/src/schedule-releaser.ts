import { type EmailEvent, ENVELOPE_HEADERS, queuedEvent } from '@postline/contracts';
import { type DueEmail, releaseDue } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';
import { RELEASE_TICK_MS, ReleaseLoop } from './release-loop.js';

/**
 * Puts due scheduled emails back on the requests topic, as the records they were, from where
 * any mailer sends them like any other email (claim, retries, dead letters). Nothing about the
 * schedule is kept in memory: RSS does not grow with the number of scheduled emails.
 */
export class ScheduleReleaser {
  private readonly loop: ReleaseLoop;

  constructor(
    private readonly db: pg.Pool,
    private readonly produce: (messages: Message[]) => Promise<void>,
    private readonly metrics: MailerMetrics,
    private readonly log: LogSink,
    tickMs = RELEASE_TICK_MS,
  ) {
    this.loop = new ReleaseLoop(
      (limit, horizonMs) => releaseDue(this.db, limit, horizonMs, (due) => this.publish(due)),
      (error) => {
        metrics.releaseErrors.inc();
        log.warn({ err: error }, 'schedule release round failed; the emails stay scheduled');
      },
      tickMs,
    );
  }

  start(): void {
    this.loop.start();
  }

  /** An email due at `at` (ms since the epoch) was just parked: release it then, not at the next tick. */
  dueAt(at: number): void {
    this.loop.dueAt(at);
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
  stop(): Promise<void> {
    return this.loop.stop();
  }
}

function tagsOf(envelope: string): Record<string, string> | undefined {
  try {
    return (JSON.parse(envelope) as { email?: { tags?: Record<string, string> } }).email?.tags;
  } catch {
    return undefined;
  }
}
