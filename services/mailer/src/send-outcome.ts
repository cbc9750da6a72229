import { type Envelope, isHardBounce } from '@postline/contracts';
import { releaseClaim } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import { retryDelayMs } from './backoff.js';
import { failToDeadLetter, OUTCOME_NOT_RECORDED, toRetryTopic, writeOutcome } from './outcome-persist.js';
import { failedWrite, retryWrite, sentWrite } from './outcome-writes.js';
import type { HandleResult, HandlerDeps, InboundRecord } from './record-handler.js';
import { type PoolOutcome, relayData } from './relays/relay-pool.js';
import type { Refusal, SmtpOutcome } from './smtp-outcome.js';

export interface SendAttempt {
  outcome: PoolOutcome;
  /** This attempt's number (the claim's attempts so far, plus one). */
  attempt: number;
  /** Whom the send was addressed to, and whom the suppression list left out. */
  rcptTo: string[];
  suppressed: string[];
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
  { outcome, attempt, rcptTo, suppressed, log }: SendAttempt,
): Promise<HandleResult> {
  const { config, db, smtp, metrics } = deps;
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
      await toRetryTopic(deps, record, retry);
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
