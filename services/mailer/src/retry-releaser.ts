import { type ParkedRetry, releaseDueRetries } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';
import { RELEASE_TICK_MS, ReleaseLoop } from './release-loop.js';

/**
 * Appends parked retry records to their topic again when due, as they were read (value and
 * headers), from where any mailer tries the email like any other retry. The email's state stays
 * `retrying` throughout; a relay pin travels in the record. It releases the retries parked from
 * `topics` (the ones this mailer reads). Its `dueAt()` is told of a retry just parked; `stop()`
 * leaves what it has not released parked.
 */
export function retryReleaser(
  db: pg.Pool,
  topics: readonly string[],
  produce: (topic: string, messages: Message[]) => Promise<void>,
  metrics: MailerMetrics,
  log: LogSink,
  tickMs = RELEASE_TICK_MS,
): ReleaseLoop {
  const publish = async (due: ParkedRetry[]): Promise<void> => {
    const byTopic = new Map<string, Message[]>();
    for (const d of due) {
      const messages = byTopic.get(d.topic) ?? [];
      messages.push({ key: d.emailId, value: d.record, headers: d.headers });
      byTopic.set(d.topic, messages);
    }
    await Promise.all([...byTopic].map(([topic, messages]) => produce(topic, messages)));
    metrics.retriesReleased.inc(due.length);
    log.info({ released: due.length }, 'parked retries released');
  };
  return new ReleaseLoop(
    (limit, horizonMs) => releaseDueRetries(db, topics, limit, horizonMs, publish),
    (error) => {
      metrics.retryReleaseErrors.inc();
      log.warn({ err: error }, 'retry release round failed; the records stay parked');
    },
    tickMs,
  );
}
