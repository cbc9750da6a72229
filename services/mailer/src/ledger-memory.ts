import type { Envelope } from '@postline/contracts';
import { getStatus } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import { deadLetter } from './dead-letter.js';
import { ledgerUnavailable } from './outcome-persist.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';

const DAY_MS = 24 * 3600 * 1000;
/**
 * Records are timed by their producer's clock, rows by Postgres': a record is looked at this much
 * before it could be beyond the ledger's memory, so clocks apart by less than this change nothing.
 */
const CLOCK_MARGIN_MS = 12 * 3600 * 1000;

/**
 * The ledger forgets: the retention purge deletes a final row `LEDGER_RETENTION_DAYS` after its
 * last change, and that change came after its record was appended. So a record younger than the
 * retention cannot have lost its row, and one older may have: an email sent, then purged. Such a
 * record is read again when the group's offsets go back (Kafka drops a group's offsets after it
 * has been empty for `offsets.retention.minutes`, 7 days by default, and the mailers then start
 * from the beginning), by `postline replay`, or on a topic kept longer than the ledger. Sent
 * again, it would be a second copy nobody was told of. One comparison a record; the look-up only
 * for an old one.
 */
export function mayBeForgotten(record: InboundRecord, retentionDays: number, now = Date.now()): boolean {
  const appended = Number(record.message.timestamp);
  return Number.isFinite(appended) && now - appended > retentionDays * DAY_MS - CLOCK_MARGIN_MS;
}

/**
 * For a record that may be older than the ledger's memory: null if the ledger still knows the email
 * (the claim decides, as for any record). Otherwise it is dead-lettered, untouched: not sent, and
 * no row or event written, because what became of it is not known. `postline dlq redrive` sends it
 * if an operator decides so (its new record is young).
 */
export async function unlessForgotten(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  log: LogSink,
): Promise<HandleResult | null> {
  try {
    if ((await getStatus(deps.db, envelope.id, envelope.account)) !== null) return null;
  } catch (error) {
    return ledgerUnavailable(deps, error, log);
  }
  const appendedAt = new Date(Number(record.message.timestamp)).toISOString();
  const days = deps.config.LEDGER_RETENTION_DAYS;
  const reason =
    `appended ${appendedAt}, more than LEDGER_RETENTION_DAYS (${days}) ago, and unknown to the ledger: ` +
    'it may have been sent and its row purged, so it is not sent again';
  await deps.produce(deps.config.DEAD_LETTER_TOPIC, [deadLetter(record, 'MAILER_ERR_BEYOND_LEDGER', reason)]);
  deps.metrics.deadLettered.inc({ reason: 'beyond-ledger' });
  log.warn({ appendedAt, retentionDays: days }, 'record older than the ledger remembers dead-lettered, not sent');
  return { kind: 'done' };
}
