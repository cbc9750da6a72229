import type { TopicSpec } from './topics.js';

export interface TopicConfig {
  EMAILS_TOPIC: string;
  EMAILS_PARTITIONS: number;
  RETRY_TOPIC: string;
  RETRY_PARTITIONS: number;
  DEAD_LETTER_TOPIC: string;
  DEAD_LETTER_PARTITIONS: number;
  EVENTS_TOPIC: string;
  EVENTS_PARTITIONS: number;
}

/**
 * Fits the largest request the API accepts (a 4 MiB body; the envelope adds a little) with
 * headroom. The brokers' message.max.bytes is set to the same in every environment.
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;

/**
 * The most record bytes one produce may carry (a request's own records always go, alone if need be).
 * The brokers' limit applies to a partition's whole record batch, not to one record: two large
 * emails for one partition in one send exceeded it (MESSAGE_TOO_LARGE). kafkajs' idempotent producer
 * then keeps the sequence numbers of the records that send did write on other partitions, so its next
 * send there was taken for a duplicate and acknowledged without being written: a 202'd email lost
 * (e2e 19, 30 emails of 2.9 MB at once). Half the limit, so any two units that share a send fit it.
 */
export const PRODUCE_BATCH_BYTES = {
  max: MAX_RECORD_BYTES / 2,
  of: (m: { key?: Buffer | string | null; value: Buffer | string | null }) => byteLength(m.key) + byteLength(m.value),
};

function byteLength(v: Buffer | string | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** The topics of the pipeline, provisioned by whichever service starts first. */
export function emailTopics(c: TopicConfig): TopicSpec[] {
  const config = { 'max.message.bytes': String(MAX_RECORD_BYTES) };
  return [
    { name: c.EMAILS_TOPIC, partitions: c.EMAILS_PARTITIONS, config },
    { name: c.RETRY_TOPIC, partitions: c.RETRY_PARTITIONS, config },
    // Dead letters are kept for a month: they are what an operator investigates.
    {
      name: c.DEAD_LETTER_TOPIC,
      partitions: c.DEAD_LETTER_PARTITIONS,
      config: { ...config, 'retention.ms': String(30 * 24 * 3600 * 1000) },
    },
    eventsTopic(c),
  ];
}

/** The events topic alone (the webhook dispatcher provisions only this one). */
export function eventsTopic(c: Pick<TopicConfig, 'EVENTS_TOPIC' | 'EVENTS_PARTITIONS'>): TopicSpec {
  // Events are small; a week covers any dispatcher outage (the ledger keeps them for GET /events).
  return { name: c.EVENTS_TOPIC, partitions: c.EVENTS_PARTITIONS, config: { 'retention.ms': String(7 * 24 * 3600 * 1000) } };
}
