import type { Envelope } from '@postline/contracts';
import { parkRetry, positionKey, type RecordHeaders, wasParked } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { IHeaders } from 'kafkajs';
import { ledgerUnavailable } from './outcome-persist.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';

/**
 * A retry record due more than this later is parked in the ledger, and its partition moves on;
 * one due sooner pauses its partition until due (a short wait holds little behind it, and costs
 * no writes). A partition's head so delays the records behind it by at most about this much:
 * retries are appended in the order their attempts failed, not in the order they fall due (a 32
 * minute backoff is followed by 30 s ones), and each used to hold its partition until due.
 */
export const PARK_AFTER_MS = 5_000;

/** What a record carrying a due time (`notBefore`: a retry) comes to before it may be claimed; null: claim it. */
export async function untilDue(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, log: LogSink): Promise<HandleResult | null> {
  if (!envelope.notBefore) return null;
  const dueIn = Date.parse(envelope.notBefore) - Date.now();
  const position = positionKey({ topic: record.topic, partition: record.partition, offset: record.message.offset });
  try {
    if (dueIn > PARK_AFTER_MS) {
      const parked = await parkRetry(deps.db, {
        position,
        topic: record.topic,
        emailId: envelope.id,
        waitMs: dueIn,
        record: record.message.value?.toString('utf8') ?? '',
        headers: textHeaders(record.message.headers),
      });
      // Not parked by this read: parked before (read again before its offset was committed).
      if (!parked) return { kind: 'done' };
      deps.metrics.retriesParked.inc();
      deps.retryParkedUntil?.(Date.now() + dueIn);
      log.debug({ notBefore: envelope.notBefore }, 'retry parked until due');
      return { kind: 'done' };
    }
    // Parked before (and released, or to be): read again, after a crash, before its offset was
    // committed. Its copy tries the email; this one would try it a second time, early.
    if (await wasParked(deps.db, position)) {
      deps.metrics.dedupeHits.inc();
      return { kind: 'done' };
    }
  } catch (error) {
    return ledgerUnavailable(deps, error, log);
  }
  // At most PARK_AFTER_MS: anything later was parked (a setTimeout past 2^31 ms would fire at once).
  if (dueIn > 0) return { kind: 'defer', ms: dueIn, reason: 'retry not due' };
  return null;
}

/** Headers as text, to be written again as they were (postline writes only text headers). */
function textHeaders(headers: IHeaders | undefined): RecordHeaders {
  const text: RecordHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    text[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return text;
}
