import type { Message } from 'kafkajs';
import type { InboundRecord } from './record-handler.js';

/**
 * A dead letter keeps the original record byte for byte (so it can be inspected or replayed)
 * and says in headers why and where it came from.
 */
export function deadLetter(record: InboundRecord, code: string, reason: string): Message {
  return {
    key: record.message.key,
    value: record.message.value,
    headers: {
      ...record.message.headers,
      'dead-letter-code': code,
      'dead-letter-reason': reason.slice(0, 1000),
      'source-topic': record.topic,
      'source-partition': String(record.partition),
      'source-offset': record.message.offset,
      'dead-lettered-at': new Date().toISOString(),
    },
  };
}
