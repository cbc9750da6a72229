// What the ledger costs Postgres an email, without Kafka or SMTP: an email's life as a G4 round
// drives it (the mailer's claim, which creates the row, the outcome with its `email.sent` event,
// and the outbox relay's rounds), `LEDGER_PATH_BATCH` emails a claim or outcome statement, one
// statement of each kind in flight. Postgres' CPU (every process of the cluster, from /proc) and
// its WAL bytes an email, in interleaved rounds, for each variant: a database of its own with the
// schema as migrated, changed by the variant's `prepare` SQL.
// `npx tsc -b && node bench/ledger-path.mjs` (LEDGER_PATH_EMAILS, LEDGER_PATH_ROUNDS, LEDGER_PATH_BATCH).
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { emailEvent, queuedEvent } from '../packages/contracts/dist/index.js';
import { claimMany, createLedgerPool, migrate, recordOutcomes, relayOutbox } from '../packages/ledger/dist/index.js';
import { freePort } from '../packages/stack/dist/index.js';
import { PostgresServer } from '../packages/stack/dist/postgres-server.js';
import { descendants } from '../packages/stack/dist/proc.js';
import { statCpuMs } from './lib/measure.mjs';

const EMAILS = Number(process.env.LEDGER_PATH_EMAILS ?? 4000);
const ROUNDS = Number(process.env.LEDGER_PATH_ROUNDS ?? 4);
const BATCH = Number(process.env.LEDGER_PATH_BATCH ?? 2);
// Outcomes a statement (a multiple of BATCH): the claims' by default.
const OUTCOMES = Number(process.env.LEDGER_PATH_OUTCOMES ?? BATCH);

const VARIANTS = [{ name: 'as migrated', prepare: '' }, ...JSON.parse(process.env.LEDGER_PATH_VARIANTS ?? '[]')];

const dir = '/tmp/ledger-path';
rmSync(dir, { recursive: true, force: true });
const server = new PostgresServer({ dataDir: `${dir}/data`, port: await freePort() });
await server.initialise();
await server.start();
const log = { warn: () => {} };

/** utime + stime of the server's processes (the postmaster and its backends and workers), in ms. */
function postgresCpuMs() {
  const postmaster = Number(readFileSync(`${dir}/postgres.pid`, 'utf8'));
  let ms = 0;
  for (const pid of [postmaster, ...descendants(postmaster)]) {
    try {
      ms += statCpuMs(`/proc/${pid}/stat`);
    } catch {} // exited meanwhile
  }
  return ms;
}

const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
const pools = [];
for (const [i, variant] of VARIANTS.entries()) {
  await admin.query(`create database v${i}`);
  const url = server.url.replace(/\/postgres$/, `/v${i}`);
  const setup = new pg.Pool({ connectionString: url, max: 1 });
  await migrate(setup, { info: () => {} });
  if (variant.prepare) await setup.query(variant.prepare);
  await setup.end();
  pools.push(
    createLedgerPool({ url, applicationName: 'ledger-path', maxConnections: 4, connectTimeoutMs: 5_000, queryTimeoutMs: 30_000 }, log),
  );
}

async function walLsn() {
  const { rows } = await admin.query('select pg_current_wal_lsn() as l');
  const [hi, lo] = rows[0].l.split('/');
  return Number.parseInt(hi, 16) * 2 ** 32 + Number.parseInt(lo, 16);
}

/** `n` emails through claim and outcome, `BATCH` a statement, the relay every 100 ms. */
async function round(pool, n) {
  const emails = Array.from({ length: n }, () => {
    const id = randomUUID();
    return { id, account: 'bench', acceptedAt: new Date().toISOString(), email: {} };
  });
  let relaying = true;
  const relay = (async () => {
    while (relaying) {
      while ((await relayOutbox(pool, 500, async () => {})) === 500);
      await new Promise((r) => setTimeout(r, 100));
    }
    while ((await relayOutbox(pool, 500, async () => {})) > 0);
  })();
  const position = { topic: 'bench', partition: 0, offset: '0' };
  let previous = Promise.resolve();
  let claimed = [];
  for (let i = 0; i < n; i += BATCH) {
    const batch = emails.slice(i, i + BATCH);
    await claimMany(
      pool,
      'bench-mailer',
      60_000,
      batch.map((e) => ({ id: e.id, account: e.account, position, queued: queuedEvent(e), recipients: ['to@example.net'] })),
    );
    claimed.push(...batch);
    if (claimed.length < OUTCOMES && i + BATCH < n) continue;
    await previous;
    const records = claimed.map((e) => ({
      id: e.id,
      account: e.account,
      state: 'sent',
      outcome: {
        smtpResponse: '250 2.0.0 Ok: queued',
        messageId: `<${e.id}@example.com>`,
        recipients: [{ address: 'to@example.net', status: 'accepted', smtpResponse: '250 2.0.0 Ok: queued' }],
        events: [emailEvent(e.account, 'email.sent', { emailId: e.id, smtpResponse: '250 2.0.0 Ok: queued', final: true }, new Date())],
      },
    }));
    // The outcome statement runs while the next claim does, as in the mailer.
    previous = recordOutcomes(pool, 'bench-mailer', records).then(() => {});
    claimed = [];
  }
  await previous;
  relaying = false;
  await relay;
}

const results = VARIANTS.map(() => ({ cpu: [], wal: [] }));
for (const pool of pools) await round(pool, 500); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, pool] of pools.entries()) {
    await admin.query('checkpoint');
    const cpu0 = postgresCpuMs();
    const wal0 = await walLsn();
    await round(pool, EMAILS);
    const cpu = (postgresCpuMs() - cpu0) / EMAILS;
    const wal = ((await walLsn()) - wal0) / EMAILS;
    results[i].cpu.push(cpu);
    results[i].wal.push(wal);
    console.log(
      `round ${r + 1}, ${VARIANTS[i].name}: Postgres ${(cpu * 1000).toFixed(0)} µs of CPU and ${wal.toFixed(0)} WAL bytes an email`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [i, v] of VARIANTS.entries()) {
  console.log(
    `${v.name}: median ${(median(results[i].cpu) * 1000).toFixed(0)} µs, ${median(results[i].wal).toFixed(0)} WAL bytes an email`,
  );
}
for (const pool of pools) await pool.end();
await admin.end();
await server.stop();
