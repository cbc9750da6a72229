import { allRecipients, type Envelope, normalizeAddress, policyViolation, queuedEvent, scheduledEvent } from '@postline/contracts';
import { type Claim, park, releaseClaim } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import { mayBeForgotten, unlessForgotten } from './ledger-memory.js';
import { failToDeadLetter, ledgerUnavailable, OUTCOME_NOT_RECORDED, toRetryTopic, writeOutcome } from './outcome-persist.js';
import { allSuppressed, failedWrite } from './outcome-writes.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';
import { recordSendOutcome } from './send-outcome.js';

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
    return ledgerUnavailable(deps, error, log);
  }
  deps.metrics.parked.inc();
  deps.eventsWritten?.();
  deps.parkedUntil?.(Date.parse(scheduledAt));
  log.info({ scheduledAt }, 'scheduled email parked until due');
  return { kind: 'done' } satisfies HandleResult;
}

/** Claim → policy → suppressions → send; what the send came to is recorded by send-outcome.ts. */
export async function claimAndSend(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, log: LogSink): Promise<HandleResult> {
  const { config, db, smtp, metrics } = deps;
  if (mayBeForgotten(record, config.LEDGER_RETENTION_DAYS)) {
    const forgotten = await unlessForgotten(deps, record, envelope, log);
    if (forgotten) return forgotten;
  }
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
    return ledgerUnavailable(deps, error, log);
  }
  if (claimed.kind === 'scheduled') {
    // Rescheduled after its record was produced: park it now (or, if it fell due meanwhile, look again).
    return (await parkIfLater(deps, record, envelope, claimed.scheduledAt, log)) ?? { kind: 'defer', ms: 100, reason: 'schedule changed' };
  }
  if (claimed.kind === 'attempted') {
    // Read again before its offset was committed: its retry record (due later, maybe pinned to a
    // relay) is the one that sends it.
    metrics.dedupeHits.inc();
    log.info({ offset: record.message.offset }, 'attempt already made: record read again, skipped');
    return { kind: 'done' };
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

  // A retry goes to the recipients no earlier attempt settled (partial-delivery.ts): never a
  // second copy to one accepted. The suppression list as it is now, read with the claim: this
  // check is the one that counts.
  const settled = new Set(claimed.settled);
  const left = settled.size === 0 ? recipients : recipients.filter((r) => !settled.has(normalizeAddress(r)));
  const isSuppressed = new Set(claimed.suppressed);
  const suppressed = left.filter((r) => isSuppressed.has(normalizeAddress(r)));
  const rcptTo = left.filter((r) => !isSuppressed.has(normalizeAddress(r)));
  const { delivered } = claimed;
  if (rcptTo.length === 0) {
    if (!(await writeOutcome(deps, record, envelope, allSuppressed(envelope, suppressed, delivered)))) return OUTCOME_NOT_RECORDED;
    metrics.suppressed.inc(suppressed.length);
    log.info({ recipients: suppressed.length }, 'every recipient suppressed: not sent');
    return { kind: 'done' };
  }

  const attempt = claimed.attempts + 1;
  const tries = claimed.tries + 1;
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
  return recordSendOutcome(deps, record, envelope, { outcome, attempt, tries, rcptTo, suppressed, delivered, log });
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
  try {
    await toRetryTopic(deps, record, later);
  } catch (error) {
    log.warn({ err: error }, 'could not hand a paced email to the retry topic; pausing');
    return { kind: 'defer', ms: Math.min(waitMs, 5_000), reason: 'relay throttled' };
  }
  deps.metrics.deferred.inc({ reason: 'relay throttled' });
  log.debug({ waitMs }, 'relay paced: email handed to the retry topic until its slot');
  return { kind: 'done' };
}
