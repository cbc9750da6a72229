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
