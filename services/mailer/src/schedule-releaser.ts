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
 * schedule is kept in memory: RSS does not grow with the number of scheduled emails. Its
 * `dueAt()` is told of an email just parked; `stop()` leaves what it has not released scheduled.
 */
export function scheduleReleaser(
  db: pg.Pool,
  produce: (messages: Message[]) => Promise<void>,
  metrics: MailerMetrics,
  log: LogSink,
  tickMs = RELEASE_TICK_MS,
): ReleaseLoop {
  const publish = async (due: DueEmail[]): Promise<EmailEvent[]> => {
    await produce(due.map((d) => ({ key: d.id, value: d.envelope, headers: { ...ENVELOPE_HEADERS } })));
    const now = new Date();
    for (const d of due) metrics.releaseLateness.observe(Math.max(0, now.getTime() - d.scheduledAt.getTime()) / 1000);
    metrics.released.inc(due.length);
    log.info({ released: due.length }, 'scheduled emails released');
    // Their `queued` event, at the time they became due for sending (the claim writes the same id).
    return due.map((d) =>
      queuedEvent({ id: d.id, account: d.account, acceptedAt: now.toISOString(), email: { tags: tagsOf(d.envelope) } }),
    );
  };
  return new ReleaseLoop(
    (limit, horizonMs) => releaseDue(db, limit, horizonMs, publish),
    (error) => {
      metrics.releaseErrors.inc();
      log.warn({ err: error }, 'schedule release round failed; the emails stay scheduled');
    },
    tickMs,
  );
}

function tagsOf(envelope: string): Record<string, string> | undefined {
  try {
    return (JSON.parse(envelope) as { email?: { tags?: Record<string, string> } }).email?.tags;
  } catch {
    return undefined;
  }
}
