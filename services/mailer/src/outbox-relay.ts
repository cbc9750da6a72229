import { type EmailEvent, EVENT_HEADERS } from '@postline/contracts';
import { relayOutbox } from '@postline/ledger';
import { BatchDrain, type LogSink } from '@postline/runtime';
import type { Message } from 'kafkajs';
import type pg from 'pg';
import type { MailerMetrics } from './plugins/metrics.js';

/** How often the relay looks at the outbox when nothing nudged it (events another mailer wrote). */
const TICK_MS = 500;
/** Outbox entries per transaction: one produce, one delete. */
const BATCH = 500;
/**
 * Rounds start at least this far apart, so events reach the topic within about this long of
 * their write. Counted under load: one round per nudge (per outcome) was 44 % of the mailer's
 * Postgres statements (five a round, a handful of events each).
 */
const MIN_GAP_MS = 100;

/**
 * Publishes the ledger's outbox to the events topic (keyed by email id, acks=all). Every mailer
 * runs one; the relay lock lets one publish at a time, so an email's events keep their order. A
 * mailer killed between the ledger write and the publish leaves its events in the outbox, and
 * the next round of any mailer publishes them; killed after the publish and before they leave the outbox,
 * they are published again with the same ids (receivers dedupe on webhook-id).
 */
export class OutboxRelay {
  private readonly drain: BatchDrain;

  constructor(db: pg.Pool, produce: (messages: Message[]) => Promise<void>, metrics: MailerMetrics, log: LogSink) {
    const batch = () =>
      relayOutbox(db, BATCH, async (events) => {
        await produce(events.map(toMessage));
        metrics.eventsPublished.inc(events.length);
      });
    this.drain = new BatchDrain(
      batch,
      BATCH,
      TICK_MS,
      (error) => {
        metrics.relayErrors.inc();
        log.warn({ err: error }, 'outbox relay round failed; events stay in the outbox');
      },
      MIN_GAP_MS,
    );
  }

  start(): void {
    this.drain.start();
  }

  /** Events were written: publish soon (coalesced with a round already running). */
  nudge(): void {
    this.drain.nudge();
  }

  /** Stops the timer and runs one last round, so a clean shutdown leaves nothing of ours behind. */
  async stop(): Promise<void> {
    await this.drain.stop(true);
  }
}

function toMessage(event: EmailEvent): Message {
  return { key: event.data.emailId, value: JSON.stringify(event), headers: { ...EVENT_HEADERS, 'event-type': event.type } };
}
