import type { KafkaMessage } from 'kafkajs';
import { quietLogger } from '../../../test/helpers/env.js';
import { mailerEnv } from '../../../test/helpers/mailer.js';
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
