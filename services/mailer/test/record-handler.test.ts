import type { KafkaMessage } from 'kafkajs';
import t from 'tap';
import { envelope, ledgerPool, ledgerRows, mailerEnv } from '../../../test/helpers/mailer.js';
import { loadConfig } from '../src/config.js';
import { createMetrics } from '../src/plugins/metrics.js';
import { type HandlerDeps, handleRecord, MAX_DEFER_MS } from '../src/record-handler.js';
import { createRelayPool, relayBreaker } from '../src/relays/relay-pool.js';
import { RelayThrottle } from '../src/relays/relay-throttle.js';
import type { SmtpSender } from '../src/smtp-sender.js';

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as HandlerDeps['log'];

function deps(db: HandlerDeps['db'], send: SmtpSender['send'], running: () => boolean): HandlerDeps {
  return {
    config: loadConfig(mailerEnv('smtp://127.0.0.1:1')),
    db,
    smtp: createRelayPool(
      [
        {
          spec: { name: 'relay1', url: 'smtp://127.0.0.1:1', weight: 1, maxRate: null },
          sender: { send, verify: async () => true, close() {} },
          breaker: relayBreaker(),
          throttle: new RelayThrottle(null, 5),
        },
      ],
      [],
      silent,
    ),
    metrics: createMetrics(),
    log: silent,
    produce: async () => {},
    running,
    inFlight: new Map(),
  };
}

const record = (value: unknown, offset = '0') => ({
  topic: 'emails',
  partition: 0,
  message: { offset, key: null, value: Buffer.from(JSON.stringify(value)), headers: {} } as unknown as KafkaMessage,
  heartbeat: async () => {},
});

t.test('a notBefore years ahead defers for at most MAX_DEFER_MS (a setTimeout past 2^31 ms would fire at once)', async (t) => {
  const d = deps(
    {} as HandlerDeps['db'],
    async () => t.fail('not due: never sent') as never,
    () => true,
  );
  const result = await handleRecord(d, record(envelope({ notBefore: '2100-01-01T00:00:00.000Z' })));
  t.same(result, { kind: 'defer', ms: MAX_DEFER_MS, reason: 'retry not due' });
});

t.test(
  'an outcome that cannot be written at shutdown leaves the record not done and its row claimed, not committed as finished',
  async (t) => {
    const pool = ledgerPool(t);
    let ledgerDown = false;
    let stopping = false;
    const db = {
      query: (...args: unknown[]) =>
        ledgerDown ? Promise.reject(new Error('ledger down')) : (pool.query as (...a: unknown[]) => Promise<unknown>)(...args),
      // The outcome is written in a transaction (its events and recipients with it).
      connect: () => (ledgerDown ? Promise.reject(new Error('ledger down')) : pool.connect()),
    } as unknown as HandlerDeps['db'];
    const e = envelope();
    const d = deps(
      db,
      async () => {
        // Sent; then Postgres goes and the mailer is told to stop before the outcome is written.
        ledgerDown = true;
        stopping = true;
        return { kind: 'sent', response: '250 OK', accepted: ['a@example.net'], refusals: [], messageId: `<${e.id}@x>` };
      },
      () => !stopping,
    );
    const result = await handleRecord(d, record(e));
    t.same(result, { kind: 'defer', ms: 1_000, reason: 'outcome not recorded' }, 'not done: its offset is not committed');
    const row = (await ledgerRows(pool, [e.id])).get(e.id);
    t.equal(row?.state, 'sending', 'the row still holds the claim, which expires: the redelivery sends it again (same Message-ID)');
  },
);
