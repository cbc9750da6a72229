import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MIGRATIONS } from '@postline/ledger';
import pg from 'pg';
import t from 'tap';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { freePort } from '../../packages/stack/src/ports.js';
import { apiEnv } from '../helpers/api.js';
import { answers, sleep, stackEnv, uniqueName } from '../helpers/env.js';
import { eventually, MESSAGE_ID_DOMAIN } from '../helpers/mailer.js';
import { spawnService } from '../helpers/processes-mailer.js';
import { userNode } from '../helpers/user-node.js';
import { System } from './harness.js';

// A Postgres as a team runs it for production (RDS, Cloud SQL, their own): TLS checked against
// the server's CA, and the services' user allowed to read and write the ledger's tables, not to
// create them; the owner migrates in a deploy step (`postline migrate`). The test stack's
// Postgres also speaks TLS (packages/stack/src/postgres-server.ts). Production defaults for
// every timing (BOOT_TIMEOUT_MS 120 s: "at once" below means not retried to it).

const caFile = process.env.STACK_POSTGRES_CA_FILE ?? '';

t.test(
  '22. your own Postgres: TLS verified against its CA, a user that may only read and write; unmigrated, the services refuse at once and name `postline migrate`; migrated by the owner, 300 emails, 0 lost, 0 twice, every connection encrypted; an untrusted certificate is said (defaults)',
  { skip: !caFile && 'the test stack has no Postgres over TLS (an external stack)' },
  async (t) => {
    const su = new URL(stackEnv().databaseUrl);
    const admin = new pg.Pool({ connectionString: su.href, max: 1 });
    t.teardown(() => admin.end());
    const id = uniqueName('own')
      .replace(/[^a-z0-9_]/gi, '_')
      .toLowerCase();
    const [database, owner, app] = [`${id}`, `${id}_owner`, `${id}_app`];
    await admin.query(`create role ${owner} login password 'owner-pw'`);
    await admin.query(`create role ${app} login password 'app-pw'`);
    await admin.query(`create database ${database} owner ${owner}`);
    t.teardown(async () => {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.query(`drop role if exists ${app}`);
      await admin.query(`drop role if exists ${owner}`);
    });
    const url = (user: string, password: string, tls = `sslmode=verify-full&sslrootcert=${caFile}`) =>
      `postgres://${user}:${password}@${su.host}/${database}?${tls}`;
    const ownerUrl = url(owner, 'owner-pw');
    const appUrl = url(app, 'app-pw');
    // The README's grants: what the owner creates, the services' user may read and write.
    const asOwner = new pg.Client(ownerUrl);
    await asOwner.connect();
    await asOwner.query(`alter default privileges grant select, insert, update, delete on tables to ${app}`);
    await asOwner.query(`alter default privileges grant usage on sequences to ${app}`);
    await asOwner.end();

    // Before any migration: each service says what to run, once, and exits.
    const base = uniqueName('ownpg');
    const topics = {
      EMAILS_TOPIC: `${base}.emails`,
      RETRY_TOPIC: `${base}.retry`,
      DEAD_LETTER_TOPIC: `${base}.dlq`,
      EVENTS_TOPIC: `${base}.events`,
    };
    const common = { DATABASE_URL: appUrl, LOG_LEVEL: 'info', ...topics };
    const services = [
      ['api', spawnService(t, 'api', { ...apiEnv(common), PORT: String(await freePort()), METRICS_PORT: '0', SUBMISSION_PORT: '0' })],
      [
        'mailer',
        spawnService(t, 'mailer', {
          ...common,
          KAFKA_BROKERS: stackEnv().brokers.join(','),
          SMTP_URL: 'smtp://127.0.0.1:1',
          MESSAGE_ID_DOMAIN,
          SENDER_DOMAINS: 'example.com',
          CONSUMER_GROUP: `${base}.group`,
          METRICS_PORT: '0',
        }),
      ],
      [
        'dispatcher',
        spawnService(t, 'webhooks', {
          ...common,
          KAFKA_BROKERS: stackEnv().brokers.join(','),
          WEBHOOK_CONSUMER_GROUP: `${base}.webhooks`,
          METRICS_PORT: String(await freePort()),
        }),
      ],
    ] as const;
    const within = (ms: number) => new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref());
    for (const [name, service] of services) {
      const exit = await Promise.race([service.exited, within(60_000)]);
      t.same(exit, { code: 1, signal: null }, `${name}: exits 1`, { output: service.output().slice(-1_500) });
      t.equal(service.messages()['could not start: a setting must change'], 1, `${name}: one fatal line`);
      t.match(
        service.fatalProblem(),
        /the ledger needs \d+ migrations? and DATABASE_URL's user may not apply them .*postline migrate/,
        `${name}: names the fix`,
      );
      // Other boot steps (Kafka, SMTP) may retry meanwhile; the ledger's is not retried.
      const retried = service
        .output()
        .split('\n')
        .filter((line) => line.includes('boot step failed') && line.includes('"step":"ledger migrations"'));
      t.same(retried, [], `${name}: the ledger step not retried`);
    }

    // The deploy step: the owner migrates, over TLS.
    const cli = join(repoRoot, 'packages/cli/dist/cli.js');
    const run = promisify(execFile);
    const migrated = await run(...userNode([cli, 'migrate', '--json']), { env: { ...process.env, DATABASE_URL: ownerUrl } });
    t.same(JSON.parse(migrated.stdout), { applied: MIGRATIONS.map((m) => m.version), version: MIGRATIONS.at(-1)?.version });
    const again = await run(...userNode([cli, 'migrate', '--json']), { env: { ...process.env, DATABASE_URL: ownerUrl } });
    t.same(JSON.parse(again.stdout).applied, [], 'a second run has nothing to do');

    // The system on the user that may only read and write. The reconciliation reads this database.
    process.env.DATABASE_URL = url('postgres', su.password, 'sslmode=disable');
    const system = await System.start(t, { mailers: 1, api: { DATABASE_URL: appUrl }, mailer: { DATABASE_URL: appUrl } });
    await system.startWebhooks();
    // Every connection of every pool, sampled while they work (an idle one is closed after 10 s).
    const seen = new Map<string, boolean>();
    const load = system.load(4, { total: 300 });
    let loading = true;
    void load.finished.finally(() => (loading = false));
    while (loading) {
      const { rows } = await admin.query<{ name: string; ssl: boolean }>(
        `select a.application_name as name, s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid) where a.datname = $1 and a.usename = $2`,
        [database, app],
      );
      for (const r of rows) seen.set(r.name, (seen.get(r.name) ?? true) && r.ssl);
      await sleep(100);
    }
    await load.finished;
    const s = await system.reconcile('your own Postgres: TLS, a user that reads and writes (defaults)', 180_000);
    t.equal(s.accepted, 300);
    t.equal(s.lost, 0);
    t.equal(s.duplicated, 0);

    for (const name of ['postline-api', 'postline-api-rows', 'postline-mailer', 'postline-webhooks']) {
      t.equal(seen.get(name), true, `${name}: connected, every connection encrypted`);
    }
    for (const service of [system.api, ...system.mailers, ...system.dispatchers]) {
      t.notMatch(service.output(), /permission denied|retention purge failed/, 'no statement was refused');
    }

    // pg's `sslmode=require` checks the certificate, as verify-full does (unlike libpq): with the
    // system's CAs, a self-signed or private CA's certificate is refused; the mailer waits, and says so.
    for (const tls of ['sslmode=verify-full', 'sslmode=require']) {
      const untrusted = await system.spawnMailer({ DATABASE_URL: url(app, 'app-pw', tls) });
      t.ok(await eventually(() => /self[- ]signed certificate/.test(untrusted.output()), 60_000, 250), `${tls}: the log names the cause`, {
        output: untrusted.output().slice(-1_500),
      });
      await sleep(1_000);
      t.notOk(await answers(`http://127.0.0.1:${system.mailerPorts.at(-1)}/readyz`), `${tls}: not ready`);
      t.equal(untrusted.child.exitCode, null, `${tls}: still running, as for an unreachable database`);
      untrusted.child.kill('SIGKILL');
    }
  },
);
