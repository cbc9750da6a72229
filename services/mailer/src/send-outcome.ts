import { type Envelope, isHardBounce } from '@postline/contracts';
import { releaseClaim } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import { retryDelayMs } from './backoff.js';
import { failToDeadLetter, OUTCOME_NOT_RECORDED, toRetryTopic, writeOutcome } from './outcome-persist.js';
import { failedWrite, type OutcomeWrite, retryWrite, sentWrite } from './outcome-writes.js';
import { isRetryable, partlySentWrite, restRefusedWrite } from './partial-delivery.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';
import { type PoolOutcome, relayData } from './relays/relay-pool.js';
import type { Refusal, SmtpOutcome } from './smtp-outcome.js';

export interface SendAttempt {
  outcome: PoolOutcome;
  /** This attempt's number (the claim's attempts so far, plus one): the status's and the events' count. */
  attempt: number;
  /** Its number since the email was accepted or last redriven: what MAX_ATTEMPTS and the backoff count. */
  tries: number;
  /** Whom the send was addressed to, and whom the suppression list left out. */
  rcptTo: string[];
  suppressed: string[];
  /** An earlier attempt had a recipient accepted: the email ends `sent` whatever this one comes to. */
  delivered: boolean;
  log: LogSink;
}

/**
 * What one SMTP send came to, recorded: sent; nothing reached the server (the claim is handed
 * back); a permanent failure (dead-lettered); or a transient or uncertain one (the retry topic,
 * or dead-lettered once out of attempts).
 */
export async function recordSendOutcome(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  { outcome, attempt, tries, rcptTo, suppressed, delivered, log }: SendAttempt,
): Promise<HandleResult> {
  const { config, db, smtp, metrics } = deps;
  switch (outcome.kind) {
    case 'sent': {
      const pending = outcome.refusals.filter(isRetryable);
      if (pending.length > 0 && tries < config.MAX_ATTEMPTS)
        return retryTheRest(deps, record, envelope, outcome, pending, { attempt, tries }, suppressed, log);
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
      if (delivered) {
        const { error, response } = outcome;
        return finishedPartly(deps, record, envelope, log, { attempt, error, response, refusals, rcptTo, suppressed });
      }
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
      if (tries >= config.MAX_ATTEMPTS && delivered) {
        const { error } = outcome;
        const refusals = outcome.kind === 'transient' ? (outcome.refusals ?? []) : [];
        return finishedPartly(deps, record, envelope, log, { attempt, error, response, uncertain, refusals, rcptTo, suppressed });
      }
      if (tries >= config.MAX_ATTEMPTS) {
        const failure = failedWrite(envelope, { error: outcome.error, response, uncertain, suppressed, via: relayData(outcome) });
        const reason = `after ${attempt} attempts: ${outcome.error}`;
        if (!(await failToDeadLetter(deps, record, envelope, 'MAILER_ERR_ATTEMPTS_EXHAUSTED', reason, 'attempts', failure))) {
          return OUTCOME_NOT_RECORDED;
        }
        log.warn({ attempt }, 'email failed: out of attempts');
        return { kind: 'done' };
      }
      // Once an attempt was uncertain, the email stays on that relay (relay-pool.ts).
      const pin = uncertain && outcome.relay ? { relay: outcome.relay } : {};
      const via = relayData(outcome);
      const write = (nextAttemptAt: Date) =>
        retryWrite(envelope, { attempt, error: outcome.error, response, uncertain, nextAttemptAt, via });
      const notBefore = await retryLater(deps, record, envelope, { attempt, tries }, pin, write);
      if (!notBefore) return OUTCOME_NOT_RECORDED;
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
 * Accepted for some recipients, a 4xx (or no reply) for the `pending` ones: they are retried
 * (partial-delivery.ts), the 5xx refusals bounce now.
 */
async function retryTheRest(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  outcome: Extract<PoolOutcome, { kind: 'sent' }>,
  pending: Refusal[],
  count: Pick<SendAttempt, 'attempt' | 'tries'>,
  suppressed: string[],
  log: LogSink,
): Promise<HandleResult> {
  const { attempt } = count;
  const refusals = outcome.refusals.filter((r) => !isRetryable(r));
  // A copy that may have arrived is retried on the same relay, as an uncertain email is.
  const pin = outcome.uncertain?.length ? { relay: outcome.relay } : {};
  const due = await retryLater(deps, record, envelope, count, pin, (nextAttemptAt) =>
    partlySentWrite(envelope, { ...outcome, attempt, refusals, pending, suppressed, nextAttemptAt, via: relayData(outcome) }),
  );
  if (!due) return OUTCOME_NOT_RECORDED;
  if (refusals.length > 0) deps.metrics.bounced.inc(refusals.length);
  const fields = { attempt, messageId: outcome.messageId, deferred: pending.length, notBefore: due };
  if (outcome.uncertain?.length)
    log.warn({ ...fields, uncertain: outcome.uncertain }, 'a copy may have been delivered; it will be sent again');
  else log.info(fields, 'email sent to some recipients; the others will be retried');
  return { kind: 'done' };
}

/**
 * The retry on the retry topic, due after this attempt's backoff, then its outcome (`write`, given
 * the due time) in the ledger. Its due time; null: stopping, the outcome not written.
 */
async function retryLater(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  { attempt, tries }: Pick<SendAttempt, 'attempt' | 'tries'>,
  pin: { relay?: string },
  write: (nextAttemptAt: Date) => OutcomeWrite,
): Promise<string | null> {
  const { config } = deps;
  const due = new Date(Date.now() + retryDelayMs(tries, config.RETRY_BASE_MS, config.RETRY_MAX_MS));
  const notBefore = due.toISOString();
  await toRetryTopic(deps, record, { ...envelope, attempt, notBefore, ...pin });
  return (await writeOutcome(deps, record, envelope, write(due))) ? notBefore : null;
}

/**
 * An earlier attempt had recipients accepted, and this one ends the email without another: the
 * recipients left are refused for good (restRefusedWrite()), those `refusals` name with their own
 * reply. The email is `sent`, and not dead-lettered (a redrive reopens only a failed email).
 */
async function finishedPartly(
  deps: HandlerDeps,
  record: InboundRecord,
  envelope: Envelope,
  log: LogSink,
  o: {
    attempt: number;
    error: string;
    response: string | null;
    uncertain?: boolean;
    refusals: Refusal[];
    rcptTo: string[];
    suppressed: string[];
  },
): Promise<HandleResult> {
  const named = new Set(o.refusals.map((r) => r.recipient));
  const others = o.rcptTo.filter((r) => !named.has(r));
  const write = restRefusedWrite(envelope, { ...o, others });
  if (!(await writeOutcome(deps, record, envelope, write))) return OUTCOME_NOT_RECORDED;
  deps.metrics.sent.inc();
  deps.metrics.bounced.inc(o.refusals.length + others.length);
  log.warn({ attempt: o.attempt, error: o.error, refused: o.refusals.length + others.length }, 'email ended with recipients left unsent');
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
