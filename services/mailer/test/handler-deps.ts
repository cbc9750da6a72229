import type { KafkaMessage } from 'kafkajs';
import type { Test } from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { ledgerPool, mailerEnv } from '../../../test/helpers/mailer.js';
import { loadConfig } from '../src/config.js';
import { LedgerBatches } from '../src/ledger-batches.js';
import { createMetrics } from '../src/plugins/metrics.js';
import type { HandlerDeps } from '../src/record-handler.js';
import { createRelayPool, relayBreaker } from '../src/relays/relay-pool.js';
import { RelayThrottle } from '../src/relays/relay-throttle.js';
import type { SmtpSender } from '../src/smtp-sender.js';

/** The record handler's dependencies around one fake relay (`send`), with the default config. */
export function deps(
  db: HandlerDeps['db'],
  send: SmtpSender['send'],
  running: () => boolean,
  o: { maxRate?: number; produce?: HandlerDeps['produce'] } = {},
): HandlerDeps {
  const config = loadConfig(mailerEnv('smtp://127.0.0.1:1'));
  return {
    config,
    db,
    ledger: new LedgerBatches(db, config.MAILER_ID, config.CLAIM_TTL_MS, 15_000),
    smtp: createRelayPool(
      [
        {
          spec: { name: 'relay1', url: 'smtp://127.0.0.1:1', weight: 1, maxRate: null },
          sender: { send, verify: async () => true, close() {} },
          breaker: relayBreaker(),
          throttle: new RelayThrottle(o.maxRate ?? null, 5),
        },
      ],
      [],
      quietLogger,
    ),
    metrics: createMetrics(),
    log: quietLogger,
    produce: o.produce ?? (async () => {}),
    running,
    inFlight: new Map(),
  };
}

/** A record as the consumer hands it over. */
export const record = (value: unknown, offset = '0', o: { topic?: string; timestamp?: number; headers?: Record<string, string> } = {}) => ({
  topic: o.topic ?? 'emails',
  partition: 0,
  message: {
    offset,
    key: null,
    value: Buffer.from(JSON.stringify(value)),
    headers: o.headers ?? {},
    timestamp: String(o.timestamp ?? Date.now()),
  } as unknown as KafkaMessage,
  heartbeat: async () => {},
});

export type Reply = 'sent' | 'transient' | 'uncertain';

/**
 * The handler on the real ledger, its relay answering `replies` in turn ('sent' once they run
 * out): a 451 before DATA for 'transient', a connection lost after DATA for 'uncertain'. `sends`
 * is each send (with its pinned relay), `produced` each record put on a topic, parsed.
 */
export function scriptedDeps(t: Test, replies: Reply[]) {
  const pool = ledgerPool(t);
  const sends: { id: string; relay?: string }[] = [];
  const produced: { topic: string; value: Record<string, unknown>; headers: Record<string, string> }[] = [];
  const d = deps(
    pool,
    async (e) => {
      sends.push({ id: e.id, ...(e.relay && { relay: e.relay }) });
      const reply = replies.shift() ?? 'sent';
      const messageId = `<${e.id}@x>`;
      if (reply === 'sent') return { kind: 'sent', response: '250 OK', accepted: ['rcpt@example.net'], refusals: [], messageId };
      if (reply === 'uncertain') return { kind: 'uncertain', error: 'connection lost after DATA', messageId };
      return { kind: 'transient', error: 'busy', response: '451 4.3.0 try later', beforeData: true, messageId };
    },
    () => true,
    {
      produce: async (topic, messages) => {
        for (const m of messages) {
          produced.push({ topic, value: JSON.parse(String(m.value)), headers: (m.headers ?? {}) as Record<string, string> });
        }
      },
    },
  );
  return { pool, d, sends, produced };
}
