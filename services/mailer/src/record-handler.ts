import { ENVELOPE_VERSION, type Envelope, envelopeSchema } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import type { KafkaMessage, Message } from 'kafkajs';
import type pg from 'pg';
import { claimAndSend } from './claim-and-send.js';
import type { MailerConfig } from './config.js';
import { deadLetter } from './dead-letter.js';
import type { LedgerBatches } from './ledger-batches.js';
import type { MailerMetrics } from './plugins/metrics.js';
import type { RelayPool } from './relays/relay-pool.js';
import { untilDue } from './retry-parking.js';

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
  /** A scheduled email due at this time (ms since the epoch) was parked: the releaser may wake for it. */
  parkedUntil?(dueAt: number): void;
  /** A retry record due at this time was parked: the retry releaser may wake for it. */
  retryParkedUntil?(dueAt: number): void;
}

export interface InboundRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
}

/**
 * How long a record from a newer version of postline waits for a mailer that reads it. A rollout
 * that starts every Deployment at once (`kubectl apply`) can put a new API in front of old mailers
 * for a few minutes: their partitions wait, and the new mailers read those records once the group
 * hands them over. Past this, the records are dead-lettered (a rollback back to this version):
 * upgrade and redrive them. Waiting forever would hold every email behind them.
 */
export const NEWER_ENVELOPE_HOLD_MS = 15 * 60_000;
/** How often an old mailer looks again at a record it cannot read yet. */
export const NEWER_ENVELOPE_RETRY_MS = 30_000;
const CLOCK_SKEW_MS = 60_000;

type Parsed = { envelope: Envelope } | { error: string } | { newer: number };

function parse(message: KafkaMessage): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  const result = envelopeSchema.safeParse(value);
  if (result.success) return { envelope: result.data };
  // Written by a later version, not malformed: not this mailer's to judge. Every producer of
  // envelopes (API, retries, releases, redrives) says its version in a header too; a record that
  // only claims a later `v` in its JSON is garbage, refused at once rather than waited on.
  const v = (value as { v?: unknown } | null)?.v;
  const header = message.headers?.['envelope-version']?.toString();
  if (Number.isSafeInteger(v) && (v as number) > ENVELOPE_VERSION && header === String(v)) return { newer: v as number };
  return { error: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** A record this mailer cannot read yet: its partition waits for a newer mailer, for a while. */
async function newerRecord(deps: HandlerDeps, record: InboundRecord, version: number): Promise<HandleResult> {
  const at = { topic: record.topic, partition: record.partition, offset: record.message.offset, version, reads: ENVELOPE_VERSION };
  // The producer sets the timestamp: one from the future would hold the partition for good.
  const age = Date.now() - Number(record.message.timestamp);
  if (age > -CLOCK_SKEW_MS && age < NEWER_ENVELOPE_HOLD_MS) {
    deps.log.warn(at, 'record from a newer postline: its partition waits for an upgraded mailer');
    return { kind: 'defer', ms: NEWER_ENVELOPE_RETRY_MS, reason: 'newer envelope' };
  }
  const reason = `envelope version ${version}; this mailer reads up to ${ENVELOPE_VERSION}: upgrade it, then redrive`;
  await deps.produce(deps.config.DEAD_LETTER_TOPIC, [deadLetter(record, 'MAILER_ERR_NEWER_ENVELOPE', reason)]);
  deps.metrics.deadLettered.inc({ reason: 'newer envelope' });
  deps.log.error(at, 'record from a newer postline dead-lettered');
  return { kind: 'done' };
}

/** One record: validate → claim → send → record the outcome (→ retry topic / dead letter). Never throws. */
export async function handleRecord(deps: HandlerDeps, record: InboundRecord): Promise<HandleResult> {
  const { config, metrics } = deps;
  const parsed = parse(record.message);
  if ('newer' in parsed) return newerRecord(deps, record, parsed.newer);
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
  const notDue = await untilDue(deps, record, envelope, log);
  if (notDue) return notDue;
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
