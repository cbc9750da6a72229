import { domainOf, type Envelope, envelopeSchema } from '@postline/contracts';
import type { KafkaMessage } from 'kafkajs';
import type { TopicRecord } from './read-topic.js';

export interface DeadLetter {
  /** `<partition>:<offset>` on the dead-letter topic. */
  position: string;
  code: string;
  reason: string;
  deadLetteredAt: string | null;
  source: string | null;
  /** Null: the record was not a readable envelope (it cannot be redriven). */
  envelope: Envelope | null;
  message: KafkaMessage;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString() ?? null;

export function toDeadLetter({ partition, message }: TopicRecord): DeadLetter {
  let envelope: Envelope | null = null;
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(message.value?.toString('utf8') ?? ''));
    if (parsed.success) envelope = parsed.data;
  } catch {
    // not JSON: shown, never redriven
  }
  const source = header(message, 'source-topic');
  return {
    position: `${partition}:${message.offset}`,
    code: header(message, 'dead-letter-code') ?? '',
    reason: header(message, 'dead-letter-reason') ?? '',
    deadLetteredAt: header(message, 'dead-lettered-at'),
    source: source ? `${source}/${header(message, 'source-partition')}@${header(message, 'source-offset')}` : null,
    envelope,
    message,
  };
}

export interface Filter {
  /** A substring of the code or the reason (case-insensitive). */
  reason?: string;
  /** A recipient's domain. */
  domain?: string;
  /** Dead-lettered at or after this time. */
  since?: Date;
}

export function matches(letter: DeadLetter, filter: Filter): boolean {
  if (filter.reason) {
    const needle = filter.reason.toLowerCase();
    if (!letter.code.toLowerCase().includes(needle) && !letter.reason.toLowerCase().includes(needle)) return false;
  }
  if (filter.domain) {
    const email = letter.envelope?.email;
    const domains = [...(email?.to ?? []), ...(email?.cc ?? []), ...(email?.bcc ?? [])].map((m) => domainOf(m.address));
    if (!domains.includes(filter.domain.toLowerCase())) return false;
  }
  if (filter.since && (!letter.deadLetteredAt || Date.parse(letter.deadLetteredAt) < filter.since.getTime())) return false;
  return true;
}

/** One row of `dlq list`. */
export function summary(letter: DeadLetter) {
  return {
    position: letter.position,
    emailId: letter.envelope?.id ?? '(unreadable)',
    code: letter.code,
    reason: letter.reason.length > 80 ? `${letter.reason.slice(0, 77)}…` : letter.reason,
    at: letter.deadLetteredAt,
    to: letter.envelope?.email.to.map((m) => m.address).join(', ') ?? '',
  };
}
