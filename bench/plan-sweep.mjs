// Every distinct statement a whole `npm test` sends to Postgres, planned as the services' sessions
// plan them (generically: createLedgerPool sets plan_cache_mode) on a large ledger, with the scans
// that read many rows listed. A generic plan does not know the values, so a statement that is fast
// in every test can still read a whole table in production (README, "The statements every email
// runs"). A report, not a test: read the list, most of it is test-only statements. Each statement is
// planned on its own: the outbox relay's round is listed though its transaction first turns
// sequential scans off (event-queries.ts), and outbox-relay.test.ts checks the plan it runs.
//
//   node bench/plan-sweep.mjs                       record (a clone of HEAD, ~25 min), then plan
//   node bench/plan-sweep.mjs --statements <dir>    plan what an earlier run recorded
//
// Recording patches `pg` in the clone's node_modules: every process (tests, services) appends each
// statement text the first time it sends it. The clone keeps this checkout's node_modules clean.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../packages/ledger/dist/index.js';
import { freePort } from '../packages/stack/dist/ports.js';
import { PostgresServer } from '../packages/stack/dist/postgres-server.js';

// Transaction control, settings and DDL have no plan worth reading.
const UNPLANNED =
  /^\s*(--[^\n]*\n\s*)*(begin|commit|rollback|set |prepare|deallocate|create|drop|alter|truncate|lock|analy[sz]e|vacuum|explain|savepoint|release|show|reset|discard|copy|grant|do |insert into schema_migrations)/i;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { statements: { type: 'string' } } });
const work = mkdtempSync(join(tmpdir(), 'plan-sweep-'));
// Readable by all: as root, the clone's Postgres runs as another user, from the clone's node_modules.
chmodSync(work, 0o755);
const statementsDir = args.statements ?? record();

/** Clones HEAD, patches its `pg` to record statements into a directory, runs its `npm test`. */
function record() {
  const dir = join(work, 'statements');
  const clone = join(work, 'clone');
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['clone', '-q', root, clone], { stdio: 'inherit' });
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone, stdio: 'inherit' });
  const client = join(clone, 'node_modules/pg/lib/client.js');
  const source = readFileSync(client, 'utf8');
  const anchor =
    "      } else if (typeof query.callback !== 'function') {\n        throw new TypeError('callback is not a function')\n      }\n    }\n";
  if (!source.includes(anchor)) throw new Error(`pg's Client.query changed: update the anchor in ${fileURLToPath(import.meta.url)}`);
  const hook = `const __sweepSeen = new Set()
function __sweepRecord(text) {
  if (typeof text !== 'string' || __sweepSeen.has(text)) return
  __sweepSeen.add(text)
  try { require('fs').appendFileSync(${JSON.stringify(dir)} + '/' + process.pid + '.jsonl', JSON.stringify({ text }) + '\\n') } catch {}
}
`;
  const patched = source
    .replace('class Client extends EventEmitter', `${hook}class Client extends EventEmitter`)
    .replace(anchor, `${anchor}    __sweepRecord(query.text)\n`);
  writeFileSync(client, patched);
  const log = join(work, 'npm-test.log');
  console.log(`recording: npm test in ${clone} (log ${log})`);
  const run = spawnSync('bash', ['-c', `npm test > ${log} 2>&1`], { cwd: clone, stdio: 'inherit' });
  console.log(`npm test exited ${run.status}: ${readFileSync(log, 'utf8').trim().split('\n').pop()}`);
  return dir;
}

const texts = new Set();
for (const file of readdirSync(statementsDir)) {
  for (const line of readFileSync(join(statementsDir, file), 'utf8').split('\n')) if (line) texts.add(JSON.parse(line).text);
}
if (texts.size === 0) {
  console.error(`no statement was recorded in ${statementsDir}: see the test run's log`);
  process.exit(1);
}

const server = new PostgresServer({ dataDir: join(work, 'postgres'), port: await freePort() });
await server.initialise();
await server.start();
const pool = new pg.Pool({ connectionString: server.url, max: 1 });
try {
  await migrate(pool, { info() {} });
  console.log('filling the ledger (about a minute)');
  await pool.query(readFileSync(join(root, 'bench/lib/plan-sweep-fill.sql'), 'utf8'));
  await pool.query('vacuum analyze'); // not in the file: a multi-statement string is one transaction
  const report = await planAll(pool, texts);
  const file = join(work, 'report.json');
  writeFileSync(file, JSON.stringify(report, null, 1));
  const flagged = report.filter((r) => r.flags?.length);
  console.log(
    `${texts.size} distinct statements, ${report.filter((r) => r.flags).length} planned, ${flagged.length} flagged (all: ${file})`,
  );
  for (const r of flagged) console.log(`\n${r.flags.join('; ')} (cost ${r.cost})\n  ${r.text.replace(/\s+/g, ' ').slice(0, 300)}`);
} finally {
  await pool.end();
  await server.stop();
}

/** Each statement's generic plan (EXPLAIN only: nothing runs), and its scans that read many rows. */
async function planAll(db, statements) {
  const report = [];
  for (const text of statements) {
    if (UNPLANNED.test(text)) continue;
    const client = await db.connect();
    try {
      await client.query('begin');
      const generic = /\$\d/.test(text) ? 'generic_plan, ' : '';
      const { rows } = await client.query(`explain (${generic}format json) ${text}`);
      const plan = rows[0]['QUERY PLAN'][0].Plan;
      report.push({ text, cost: plan['Total Cost'], flags: largeScans(plan) });
    } catch (error) {
      report.push({ text, error: error.message });
    } finally {
      await client.query('rollback').catch(() => {});
      client.release();
    }
  }
  return report.sort((a, b) => (b.cost ?? -1) - (a.cost ?? -1));
}

/** Sequential scans of any table, and scans estimated at more than 5,000 rows. */
function largeScans(node) {
  const own = [];
  if (node['Node Type'].endsWith('Scan') && node['Relation Name'] && (node['Node Type'] === 'Seq Scan' || node['Plan Rows'] > 5_000)) {
    own.push(
      `${node['Node Type']} on ${node['Relation Name']}${node['Index Name'] ? ` (${node['Index Name']})` : ''}, ${node['Plan Rows']} rows estimated`,
    );
  }
  return [...own, ...(node.Plans ?? []).flatMap(largeScans)];
}
