import type { KafkaMessage } from 'kafkajs';
import t from 'tap';
import { quietLogger } from '../../../test/helpers/env.js';
import { envelope, ledgerPool, ledgerRows, mailerEnv } from '../../../test/helpers/mailer.js';
import { loadConfig } from '../src/config.js';
import { LedgerBatches } from '../src/ledger-batches.js';
import { createMetrics } from '../src/plugins/metrics.js';
import { type HandlerDeps, handleRecord, MAX_DEFER_MS } from '../src/record-handler.js';
import { createRelayPool, relayBreaker } from '../src/relays/relay-pool.js';
import { RelayThrottle } from '../src/relays/relay-throttle.js';
import type { SmtpSender } from '../src/smtp-sender.js';

function deps(
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

t.test(
  'a relay paced beyond 1 s: the record goes to the retry topic due at its slot, attempt unchanged, claim released, nothing sent',
  async (t) => {
    const pool = ledgerPool(t);
    const sent: string[] = [];
    const produced: { topic: string; value: Record<string, unknown> }[] = [];
    const d = deps(
      pool,
      async (e) => {
        sent.push(e.id);
        return { kind: 'sent', response: '250 OK', accepted: ['rcpt@example.net'], refusals: [], messageId: `<${e.id}@x>` };
      },
      () => true,
      {
        // One message every 2 s: the second email's slot is 2 s away.
        maxRate: 0.5,
        produce: async (topic, messages) => {
          for (const m of messages) produced.push({ topic, value: JSON.parse(String(m.value)) });
        },
      },
    );
    const first = envelope();
    const second = envelope();
    t.same(await handleRecord(d, record(first, '0')), { kind: 'done' });
    const before = Date.now();
    t.same(await handleRecord(d, record(second, '1')), { kind: 'done' }, 'done: its partition moves on');
    t.same(sent, [first.id], 'the second was not sent');
    const retry = produced.find((p) => p.value.id === second.id);
    t.equal(retry?.topic, d.config.RETRY_TOPIC);
    t.equal(retry?.value.attempt, 0, 'no attempt counted: nothing was tried');
    const due = Date.parse(String(retry?.value.notBefore));
    t.ok(due >= before + 1_000 && due <= before + 2_500, `due at its slot (${due - before} ms later)`);
    t.equal((await ledgerRows(pool, [second.id])).get(second.id)?.state, 'queued', 'its claim was given back');
  },
);
