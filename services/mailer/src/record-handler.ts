import { ENVELOPE_HEADERS, type Envelope, envelopeSchema, policyViolation } from '@postline/contracts';
import { claim, recordFailed, recordRetrying, recordSent, releaseClaim } from '@postline/ledger';
import type { LogSink } from '@postline/runtime';
import type { KafkaMessage, Message } from 'kafkajs';
import type pg from 'pg';
import { retryDelayMs } from './backoff.js';
import type { SmtpBreaker } from './circuit-breaker.js';
import type { MailerConfig } from './config.js';
import { deadLetter } from './dead-letter.js';
import type { MailerMetrics } from './plugins/metrics.js';
import type { SmtpOutcome } from './smtp-outcome.js';
import type { SmtpSender } from './smtp-sender.js';

/** done: the offset may be committed. defer: leave it, pause the partition, come back in `ms`. */
export type HandleResult = { kind: 'done' } | { kind: 'defer'; ms: number; reason: string };

export interface HandlerDeps {
  config: MailerConfig;
  db: pg.Pool;
  smtp: SmtpSender;
  breaker: SmtpBreaker<SmtpOutcome>;
  metrics: MailerMetrics;
  log: LogSink;
  produce(topic: string, messages: Message[]): Promise<void>;
  running(): boolean;
  /** Emails being handled in this process right now, by id. */
  inFlight: Map<string, Promise<unknown>>;
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

/**
 * The email will not be sent: dead-letter the record (kept byte for byte, with the reason), then
 * record `failed` in the ledger. False: stopping, the outcome not written (see OUTCOME_NOT_RECORDED).
 */
async function failToDeadLetter(
  deps: HandlerDeps,
  record: InboundRecord,
  id: string,
  code: string,
  reason: string,
  metric: 'policy' | 'permanent' | 'attempts',
  failure: Parameters<typeof recordFailed>[3],
): Promise<boolean> {
  const { config, db, metrics } = deps;
  await deps.produce(config.DEAD_LETTER_TOPIC, [deadLetter(record, code, reason)]);
  if (!(await persistOutcome(deps, record, () => recordFailed(db, id, config.MAILER_ID, failure)))) return false;
  metrics.failed.inc({ reason: metric });
  metrics.deadLettered.inc({ reason: metric });
  return true;
}

/** One record: validate → claim → send → record the outcome (→ retry topic / dead letter). Never throws. */
export async function handleRecord(deps: HandlerDeps, record: InboundRecord): Promise<HandleResult> {
  const { config, breaker, metrics } = deps;
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
  if (breaker.waitMs > 0) return { kind: 'defer', ms: breaker.waitMs, reason: 'smtp unavailable' };

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

async function claimAndSend(deps: HandlerDeps, record: InboundRecord, envelope: Envelope, log: LogSink): Promise<HandleResult> {
  const { config, db, smtp, breaker, metrics } = deps;
  let claimed: Awaited<ReturnType<typeof claim>>;
  try {
    claimed = await claim(db, envelope.id, envelope.account, config.MAILER_ID, config.CLAIM_TTL_MS, {
      topic: record.topic,
      partition: record.partition,
      offset: record.message.offset,
    });
  } catch (error) {
    metrics.ledgerErrors.inc();
    log.warn({ err: error }, 'ledger unavailable; pausing');
    return { kind: 'defer', ms: 1_000, reason: 'ledger unavailable' };
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
    const failure = { smtpResponse: null, lastError: `refused by policy: ${reason}` };
    if (!(await failToDeadLetter(deps, record, envelope.id, 'MAILER_ERR_POLICY', reason, 'policy', failure))) return OUTCOME_NOT_RECORDED;
    log.warn({ reason }, 'email refused by policy and dead-lettered');
    return { kind: 'done' };
  }

  const attempt = claimed.attempts + 1;
  const endTimer = metrics.smtpDuration.startTimer();
  const run = await breaker.execute(() => smtp.send(envelope));
  if ('wait' in run) {
    // The breaker opened (or a probe went out) while we claimed: nothing was sent.
    await releaseClaim(db, envelope.id, config.MAILER_ID).catch(() => {});
    return { kind: 'defer', ms: run.wait, reason: 'smtp unavailable' };
  }
  const outcome = run.result;
  endTimer({ outcome: outcome.kind });

  switch (outcome.kind) {
    case 'sent': {
      const rejected = outcome.rejected.length > 0 ? `rejected recipients: ${outcome.rejected.join(', ')}` : null;
      const recorded = await persistOutcome(deps, record, () =>
        recordSent(db, envelope.id, config.MAILER_ID, {
          smtpResponse: outcome.response,
          messageId: outcome.messageId,
          lastError: rejected,
        }),
      );
      if (!recorded) return OUTCOME_NOT_RECORDED;
      metrics.sent.inc();
      log.info({ attempt, messageId: outcome.messageId }, 'email sent');
      return { kind: 'done' };
    }
    case 'unavailable': {
      metrics.smtpUnavailable.inc();
      // Nothing reached the server: hand the email back so any mailer may take it at once.
      await releaseClaim(db, envelope.id, config.MAILER_ID).catch(() => {});
      log.warn({ error: outcome.error }, 'smtp server unreachable; pausing');
      return { kind: 'defer', ms: Math.max(breaker.waitMs, 100), reason: 'smtp unavailable' };
    }
    case 'permanent': {
      const failure = { smtpResponse: outcome.response, lastError: outcome.error };
      const reason = outcome.response ?? outcome.error;
      if (!(await failToDeadLetter(deps, record, envelope.id, 'MAILER_ERR_SMTP_PERMANENT', reason, 'permanent', failure))) {
        return OUTCOME_NOT_RECORDED;
      }
      log.warn({ attempt, response: outcome.response }, 'email failed permanently');
      return { kind: 'done' };
    }
    default: {
      // transient or uncertain
      const uncertain = outcome.kind === 'uncertain';
      const response = outcome.kind === 'transient' ? outcome.response : null;
      if (attempt >= config.MAX_ATTEMPTS) {
        const failure = { smtpResponse: response, lastError: outcome.error, uncertain };
        const reason = `after ${attempt} attempts: ${outcome.error}`;
        if (!(await failToDeadLetter(deps, record, envelope.id, 'MAILER_ERR_ATTEMPTS_EXHAUSTED', reason, 'attempts', failure))) {
          return OUTCOME_NOT_RECORDED;
        }
        log.warn({ attempt }, 'email failed: out of attempts');
        return { kind: 'done' };
      }
      const due = new Date(Date.now() + retryDelayMs(attempt, config.RETRY_BASE_MS, config.RETRY_MAX_MS));
      const notBefore = due.toISOString();
      const retry: Envelope = { ...envelope, attempt, notBefore };
      // Written in the current envelope version, whatever version the record was read in.
      const headers = { ...record.message.headers, ...ENVELOPE_HEADERS };
      await deps.produce(config.RETRY_TOPIC, [{ key: envelope.id, value: JSON.stringify(retry), headers }]);
      const recorded = await persistOutcome(deps, record, () =>
        recordRetrying(db, envelope.id, config.MAILER_ID, {
          smtpResponse: response,
          lastError: outcome.error,
          uncertain,
          nextAttemptAt: due,
        }),
      );
      if (!recorded) return OUTCOME_NOT_RECORDED;
      metrics.retried.inc({ uncertain: String(uncertain) });
      log.info({ attempt, notBefore, uncertain, error: outcome.error }, 'email will be retried');
      return { kind: 'done' };
    }
  }
}
