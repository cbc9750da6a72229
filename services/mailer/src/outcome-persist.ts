import { ENVELOPE_HEADERS, type Envelope } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import { deadLetter } from './dead-letter.js';
import type { OutcomeWrite } from './outcome-writes.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The mailer is stopping and the outcome could not be written: the record must not count as
 * done. Its offset stays uncommitted and its row keeps the claim (it expires), so the record is
 * redelivered and the email handled again — with the same Message-ID if it had been sent.
 */
export const OUTCOME_NOT_RECORDED: HandleResult = { kind: 'defer', ms: 1_000, reason: 'outcome not recorded' };

/**
 * Writes an outcome once the email has been handed to SMTP. Postgres may be down; giving up
 * would resend an email that went out, so this waits for the ledger (keeping the group
 * membership alive) for as long as the mailer runs. False: stopping, not written.
 */
async function persistOutcome(deps: HandlerDeps, record: InboundRecord, write: () => Promise<unknown>): Promise<boolean> {
  for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      await write();
      return true;
    } catch (error) {
      deps.metrics.ledgerErrors.inc();
      deps.log.warn({ err: error }, 'ledger write failed; retrying');
      if (!deps.running()) return false;
      await sleep(delay);
      await record.heartbeat().catch(() => {});
    }
  }
}

/** The outcome through persistOutcome(): the state, recipients, suppressions and events in one statement. */
export async function writeOutcome(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, write: OutcomeWrite): Promise<boolean> {
  const { id, account } = envelope;
  const done = await persistOutcome(deps, record, () => deps.ledger.record({ id, account, state: write.state, outcome: write }));
  if (done) deps.eventsWritten?.();
  return done;
}

/**
 * The email will not be sent: dead-letter the record (kept byte for byte, with the reason), then
 * record `failed` in the ledger. False: stopping, the outcome not written (see OUTCOME_NOT_RECORDED).
 */
export async function failToDeadLetter(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  code: string,
  reason: string,
  metric: 'policy' | 'permanent' | 'attempts',
  failure: OutcomeWrite,
): Promise<boolean> {
  const { config, metrics } = deps;
  await deps.produce(config.DEAD_LETTER_TOPIC, [deadLetter(record, code, reason)]);
  if (!(await writeOutcome(deps, record, envelope, failure))) return false;
  metrics.failed.inc({ reason: metric });
  metrics.deadLettered.inc({ reason: metric });
  return true;
}

/** The ledger could not be read or written before anything was sent: pause, look again. */
export const LEDGER_UNAVAILABLE: HandleResult = { kind: 'defer', ms: 1_000, reason: 'ledger unavailable' };

/** LEDGER_UNAVAILABLE, counted and logged: what every read or write before a send answers when it fails. */
export function ledgerUnavailable(deps: HandlerDeps, error: unknown, log: LogSink): HandleResult {
  deps.metrics.ledgerErrors.inc();
  log.warn({ err: error }, 'ledger unavailable; pausing');
  return LEDGER_UNAVAILABLE;
}

/**
 * The email back on the retry topic, due at `envelope.notBefore`: a retry after a failed attempt,
 * or a paced one waiting for its relay's slot. Written in the current envelope version, whatever
 * version the record was read in; its other headers are kept.
 */
export async function toRetryTopic(deps: HandlerDeps, record: InboundRecord, envelope: Envelope): Promise<void> {
  const headers = { ...record.message.headers, ...ENVELOPE_HEADERS };
  await deps.produce(deps.config.RETRY_TOPIC, [{ key: envelope.id, value: JSON.stringify(envelope), headers }]);
}
