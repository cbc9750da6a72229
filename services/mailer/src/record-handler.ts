import {
  allRecipients,
  ENVELOPE_HEADERS,
  type Envelope,
  envelopeSchema,
  isHardBounce,
  normalizeAddress,
  policyViolation,
  queuedEvent,
  scheduledEvent,
} from '@postline/contracts';
import { type Claim, park, releaseClaim } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { KafkaMessage, Message } from 'kafkajs';
import type pg from 'pg';
import { retryDelayMs } from './backoff.js';
import type { MailerConfig } from './config.js';
import { deadLetter } from './dead-letter.js';
import type { LedgerBatches } from './ledger-batches.js';
import { allSuppressed, failedWrite, type OutcomeWrite, retryWrite, sentWrite } from './outcome-writes.js';
import type { MailerMetrics } from './plugins/metrics.js';
import { type RelayPool, relayData } from './relays/relay-pool.js';
import type { Refusal, SmtpOutcome } from './smtp-outcome.js';

/** done: the offset may be committed. defer: leave it, pause the partition, come back in `ms`. */
export type HandleResult = { kind: 'done' } | { kind: 'defer'; ms: number; reason: string };

export interface HandlerDeps {
  config: MailerConfig;
  db: pg.Pool;
  /** Claims and outcomes, shared with the other emails in flight (one statement each). */
  ledger: LedgerBatches;
  /** The relays (SMTP_URL alone is a pool of one), each with its breaker and throttle. */
  smtp: RelayPool;
  metrics: MailerMetrics;
  log: LogSink;
  produce(topic: string, messages: Message[]): Promise<void>;
  running(): boolean;
  /** Emails being handled in this process right now, by id. */
  inFlight: Map<string, Promise<unknown>>;
  /** An outcome and its events were written: the outbox relay may publish now. */
  eventsWritten?(): void;
  /** An email due at this time (ms since the epoch) was parked: the releaser may wake for it. */
  parkedUntil?(dueAt: number): void;
}

export interface InboundRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The longest a partition pauses for one record before it looks again. */
export const MAX_DEFER_MS = 300_000;

/**
 * The mailer is stopping and the outcome could not be written: the record must not count as
 * done. Its offset stays uncommitted and its row keeps the claim (it expires), so the record is
 * redelivered and the email handled again — with the same Message-ID if it had been sent.
 */
const OUTCOME_NOT_RECORDED: HandleResult = { kind: 'defer', ms: 1_000, reason: 'outcome not recorded' };

function parse(message: KafkaMessage): { envelope: Envelope } | { error: string } {
  try {
    const result = envelopeSchema.safeParse(JSON.parse(message.value?.toString('utf8') ?? ''));
    if (result.success) return { envelope: result.data };
    return { error: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
}

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
async function writeOutcome(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, write: OutcomeWrite): Promise<boolean> {
  const { id, account } = envelope;
  const done = await persistOutcome(deps, record, () => deps.ledger.record({ id, account, state: write.state, outcome: write }));
  if (done) deps.eventsWritten?.();
  return done;
}

/**
 * The email will not be sent: dead-letter the record (kept byte for byte, with the reason), then
 * record `failed` in the ledger. False: stopping, the outcome not written (see OUTCOME_NOT_RECORDED).
 */
async function failToDeadLetter(
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

/** One record: validate → claim → send → record the outcome (→ retry topic / dead letter). Never throws. */
export async function handleRecord(deps: HandlerDeps, record: InboundRecord): Promise<HandleResult> {
  const { config, metrics } = deps;
  const parsed = parse(record.message);
  if ('error' in parsed) {
    await deps.produce(config.DEAD_LETTER_TOPIC, [deadLetter(record, 'MAILER_ERR_INVALID_RECORD', parsed.error)]);
    metrics.deadLettered.inc({ reason: 'invalid' });
    deps.log.warn(
      { topic: record.topic, partition: record.partition, offset: record.message.offset, reason: parsed.error },
      'invalid record dead-lettered',
    );
    return { kind: 'done' };
  }
  const { envelope } = parsed;
  const log = deps.log.child({ emailId: envelope.id });
  const dueIn = envelope.notBefore ? Date.parse(envelope.notBefore) - Date.now() : 0;
  // Capped: a notBefore years ahead would overflow setTimeout (2^31 ms fires at once: a hot loop).
  if (dueIn > 0) return { kind: 'defer', ms: Math.min(dueIn, MAX_DEFER_MS), reason: 'retry not due' };
  const relaysWait = deps.smtp.waitMs(envelope);
  if (relaysWait > 0) return { kind: 'defer', ms: relaysWait, reason: 'smtp unavailable' };

  // Two copies of one email in this process (a redelivery, or a client retry that produced
  // twice) must not both hold the claim: the later one waits for the first, then looks again.
  for (let other = deps.inFlight.get(envelope.id); other; other = deps.inFlight.get(envelope.id)) await other.catch(() => {});
  const work = claimAndSend(deps, record, envelope, log);
  deps.inFlight.set(envelope.id, work);
  try {
    return await work;
  } finally {
    deps.inFlight.delete(envelope.id);
  }
}

const LEDGER_UNAVAILABLE: HandleResult = { kind: 'defer', ms: 1_000, reason: 'ledger unavailable' };

/**
 * A scheduled email due later is parked in the ledger (the record as it was read), and its
 * offset is committed: a month-ahead email never holds its partition. Null: not parked (the
 * ledger says it is due, claimed or final): go on and claim it.
 */
async function parkIfLater(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, scheduledAt: string, log: LogSink) {
  const { id, account } = envelope;
  const event = scheduledEvent(account, id, scheduledAt, envelope.acceptedAt, envelope.email.tags);
  try {
    const value = record.message.value?.toString('utf8') ?? '';
    const parked = await park(deps.db, { id, account, scheduledAt, template: envelope.template ?? null }, value, event);
    if (parked.kind === 'not parked') return null;
  } catch (error) {
    deps.metrics.ledgerErrors.inc();
    log.warn({ err: error }, 'ledger unavailable; pausing');
    return LEDGER_UNAVAILABLE;
  }
  deps.metrics.parked.inc();
  deps.eventsWritten?.();
  deps.parkedUntil?.(Date.parse(scheduledAt));
  log.info({ scheduledAt }, 'scheduled email parked until due');
  return { kind: 'done' } satisfies HandleResult;
}

async function claimAndSend(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, log: LogSink): Promise<HandleResult> {
  const { config, db, smtp, metrics } = deps;
  if (envelope.scheduledAt && Date.parse(envelope.scheduledAt) > Date.now()) {
    const parked = await parkIfLater(deps, record, envelope, envelope.scheduledAt, log);
    if (parked) return parked;
  }
  const recipients = allRecipients(envelope.email);
  // How long the email sat in the queue: the consumer lag in time. Only the requests topic: a
  // retry's record waits out its backoff on purpose. A record deferred before this point (SMTP
  // unreachable) counts once, when it gets here. The timestamp is the producer's clock.
  const appended = Number(record.message.timestamp);
  if (record.topic === config.EMAILS_TOPIC && Number.isFinite(appended)) {
    metrics.queueWait.observe(Math.max(0, Date.now() - appended) / 1000);
  }
  let claimed: Claim;
  try {
    const position = { topic: record.topic, partition: record.partition, offset: record.message.offset };
    claimed = await deps.ledger.claim({
      id: envelope.id,
      account: envelope.account,
      position,
      queued: queuedEvent(envelope),
      recipients: [...new Set(recipients.map(normalizeAddress))],
    });
  } catch (error) {
    metrics.ledgerErrors.inc();
    log.warn({ err: error }, 'ledger unavailable; pausing');
    return LEDGER_UNAVAILABLE;
  }
  if (claimed.kind === 'scheduled') {
    // Rescheduled after its record was produced: park it now (or, if it fell due meanwhile, look again).
    return (await parkIfLater(deps, record, envelope, claimed.scheduledAt, log)) ?? { kind: 'defer', ms: 100, reason: 'schedule changed' };
  }
  if (claimed.kind === 'final') {
    metrics.dedupeHits.inc();
    log.info({ state: claimed.state }, 'already final: redelivery skipped');
    return { kind: 'done' };
  }
  if (claimed.kind === 'busy') {
    // Another mailer is sending it (we got its partition in a rebalance): neither send it
    // again nor drop it; look again once that claim is released or has expired.
    return { kind: 'defer', ms: Math.min(Math.max(claimed.expiresInMs, 100), 1_000), reason: 'claimed by another mailer' };
  }

  // Defence in depth: a record from any producer with topic access meets this deployment's
  // policy (sender domains, limits) here too, or it is dead-lettered and never sent.
  const violation = policyViolation(envelope.email, config.policy);
  if (violation) {
    const reason = violation.code === 'sender-not-allowed' ? `sender domain ${violation.domain} is not allowed` : violation.detail;
    const failure = failedWrite(envelope, { error: `refused by policy: ${reason}`, response: null });
    if (!(await failToDeadLetter(deps, record, envelope, 'MAILER_ERR_POLICY', reason, 'policy', failure))) return OUTCOME_NOT_RECORDED;
    log.warn({ reason }, 'email refused by policy and dead-lettered');
    return { kind: 'done' };
  }

  // The suppression list as it is now, read with the claim: this check is the one that counts.
  const isSuppressed = new Set(claimed.suppressed);
  const suppressed = recipients.filter((r) => isSuppressed.has(normalizeAddress(r)));
  const rcptTo = recipients.filter((r) => !isSuppressed.has(normalizeAddress(r)));
  if (rcptTo.length === 0) {
    if (!(await writeOutcome(deps, record, envelope, allSuppressed(envelope, suppressed)))) return OUTCOME_NOT_RECORDED;
    metrics.suppressed.inc(suppressed.length);
    log.info({ recipients: suppressed.length }, 'every recipient suppressed: not sent');
    return { kind: 'done' };
  }

  const attempt = claimed.attempts + 1;
  const endTimer = metrics.smtpDuration.startTimer();
  const outcome = await smtp.send(envelope, rcptTo);
  if ('wait' in outcome) {
    // Nothing was sent: every relay of its route is down (a breaker opened, or a probe is out,
    // since the check above), or its relay's next slot is further than a partition may wait.
    await releaseClaim(db, envelope.id, config.MAILER_ID).catch(() => {});
    if (outcome.reason === 'open') return { kind: 'defer', ms: outcome.wait, reason: 'smtp unavailable' };
    return throttled(deps, record, envelope, outcome.wait, log);
  }
  endTimer({ outcome: outcome.kind });
  if (suppressed.length > 0) metrics.suppressed.inc(suppressed.length);

  switch (outcome.kind) {
    case 'sent': {
      const write = sentWrite(envelope, { ...outcome, messageId: outcome.messageId, suppressed, via: relayData(outcome) });
      if (!(await writeOutcome(deps, record, envelope, write))) return OUTCOME_NOT_RECORDED;
      metrics.sent.inc();
      if (outcome.refusals.length > 0) metrics.bounced.inc(outcome.refusals.length);
      log.info({ attempt, messageId: outcome.messageId, refused: outcome.refusals.length }, 'email sent');
      return { kind: 'done' };
    }
    case 'unavailable': {
      metrics.smtpUnavailable.inc();
      // Nothing reached the server: hand the email back so any mailer may take it at once.
      await releaseClaim(db, envelope.id, config.MAILER_ID).catch(() => {});
      log.warn({ error: outcome.error }, 'smtp server unreachable; pausing');
      return { kind: 'defer', ms: Math.max(smtp.waitMs(envelope), 100), reason: 'smtp unavailable' };
    }
    case 'permanent': {
      const refusals = permanentRefusals(outcome, rcptTo);
      const failure = failedWrite(envelope, {
        error: outcome.error,
        response: outcome.response,
        refusals,
        suppressed,
        via: relayData(outcome),
      });
      const reason = outcome.response ?? outcome.error;
      if (!(await failToDeadLetter(deps, record, envelope, 'MAILER_ERR_SMTP_PERMANENT', reason, 'permanent', failure))) {
        return OUTCOME_NOT_RECORDED;
      }
      if (refusals.length > 0) metrics.bounced.inc(refusals.length);
      log.warn({ attempt, response: outcome.response }, 'email failed permanently');
      return { kind: 'done' };
    }
    default: {
      // transient or uncertain
      const uncertain = outcome.kind === 'uncertain';
      const response = outcome.kind === 'transient' ? outcome.response : null;
      if (attempt >= config.MAX_ATTEMPTS) {
        const failure = failedWrite(envelope, { error: outcome.error, response, uncertain, suppressed, via: relayData(outcome) });
        const reason = `after ${attempt} attempts: ${outcome.error}`;
        if (!(await failToDeadLetter(deps, record, envelope, 'MAILER_ERR_ATTEMPTS_EXHAUSTED', reason, 'attempts', failure))) {
          return OUTCOME_NOT_RECORDED;
        }
        log.warn({ attempt }, 'email failed: out of attempts');
        return { kind: 'done' };
      }
      const due = new Date(Date.now() + retryDelayMs(attempt, config.RETRY_BASE_MS, config.RETRY_MAX_MS));
      const notBefore = due.toISOString();
      // Once an attempt was uncertain, the email stays on that relay (relay-pool.ts).
      const pin = uncertain && outcome.relay ? { relay: outcome.relay } : {};
      const retry: Envelope = { ...envelope, attempt, notBefore, ...pin };
      // Written in the current envelope version, whatever version the record was read in.
      const headers = { ...record.message.headers, ...ENVELOPE_HEADERS };
      await deps.produce(config.RETRY_TOPIC, [{ key: envelope.id, value: JSON.stringify(retry), headers }]);
      const write = retryWrite(envelope, {
        attempt,
        error: outcome.error,
        response,
        uncertain,
        nextAttemptAt: due,
        via: relayData(outcome),
      });
      if (!(await writeOutcome(deps, record, envelope, write))) return OUTCOME_NOT_RECORDED;
      metrics.retried.inc({ uncertain: String(uncertain) });
      // An uncertain attempt may have been delivered, so its retry may be a second copy (with the
      // same Message-ID): a warning, so the operator hears of each one.
      if (uncertain) log.warn({ attempt, notBefore, error: outcome.error }, 'email may have been delivered; it will be sent again');
      else log.info({ attempt, notBefore, error: outcome.error }, 'email will be retried');
      return { kind: 'done' };
    }
  }
}

/**
 * Its relay is paced and its next slot is far: the record goes to the retry topic, due then, with
 * its attempt count unchanged (nothing was tried), and its partition moves on. Paced, never spilled
 * onto another relay: pacing is not a failure.
 */
async function throttled(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  waitMs: number,
  log: LogSink,
): Promise<HandleResult> {
  const later: Envelope = { ...envelope, notBefore: new Date(Date.now() + waitMs).toISOString() };
  const headers = { ...record.message.headers, ...ENVELOPE_HEADERS };
  try {
    await deps.produce(deps.config.RETRY_TOPIC, [{ key: envelope.id, value: JSON.stringify(later), headers }]);
  } catch (error) {
    log.warn({ err: error }, 'could not hand a paced email to the retry topic; pausing');
    return { kind: 'defer', ms: Math.min(waitMs, 5_000), reason: 'relay throttled' };
  }
  deps.metrics.deferred.inc({ reason: 'relay throttled' });
  log.debug({ waitMs }, 'relay paced: email handed to the retry topic until its slot');
  return { kind: 'done' };
}

/**
 * The recipients a permanent failure bounced: those refused at RCPT, or — for an email to one
 * recipient — that recipient, when the reply is a hard bounce at any phase (some servers refuse
 * an unknown user only after DATA).
 */
function permanentRefusals(outcome: Extract<SmtpOutcome, { kind: 'permanent' }>, rcptTo: string[]): Refusal[] {
  if (outcome.refusals && outcome.refusals.length > 0) return outcome.refusals;
  const [only] = rcptTo;
  if (rcptTo.length === 1 && only && isHardBounce(outcome.response)) return [{ recipient: only, response: outcome.response }];
  return [];
}
