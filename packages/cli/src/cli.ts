#!/usr/bin/env node
import { migrateDatabase } from '@postline/ledger';
import { createKafka, createLogger } from '@postline/runtime';
import { Command, Option } from 'commander';
import pg from 'pg';
import { callApi } from './api-client.js';
import { type CliConfig, loadConfig } from './config.js';
import { type Filter, matches, summary, toDeadLetter } from './dead-letters.js';
import { type Output, output } from './output.js';
import { readTopic } from './read-topic.js';
import { redrive } from './redrive.js';
import { applyReplay, replayPlan } from './replay.js';

const program = new Command('postline')
  .description('Operate postline: send and look up emails, inspect and redrive dead letters, replay a range, migrate the ledger.')
  .option('--json', 'print JSON (the default when stdout is not a terminal)');

/** Runs a command with the config and the output it asked for; an error is one line on stderr and exit 1. */
const run =
  <A extends unknown[]>(action: (config: CliConfig, out: Output, ...args: A) => Promise<void>) =>
  async (...args: A) => {
    try {
      await action(loadConfig(), output(program.opts().json === true), ...args);
    } catch (error) {
      process.stderr.write(`postline: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  };

const kafkaOf = (config: CliConfig) =>
  createKafka({
    ...config.kafka,
    clientId: 'postline-cli',
    logger: createLogger({ name: 'cli', level: 'silent' }),
  });

program
  .command('send')
  .description('send an email through the API (POST /v1/emails)')
  .requiredOption('--from <mailbox>')
  .requiredOption('--to <mailbox...>')
  .requiredOption('--subject <text>')
  .option('--text <text>')
  .option('--html <html>')
  .option('--scheduled-at <time>', 'ISO 8601 with an offset')
  .option('--idempotency-key <key>')
  .action(
    run(async (config, out, o: Record<string, string | string[] | undefined>) => {
      const { idempotencyKey, ...email } = o;
      const headers: Record<string, string> = idempotencyKey ? { 'idempotency-key': String(idempotencyKey) } : {};
      out.result(await callApi(config, 'POST', '/v1/emails', email, headers));
    }),
  );

program
  .command('status <id>')
  .description("an email's status")
  .action(run(async (config, out, id: string) => out.result(await callApi(config, 'GET', `/v1/emails/${encodeURIComponent(id)}`))));

program
  .command('list')
  .description("this key's emails, newest first, a page at a time (GET /v1/emails); --stuck: the stuck ones instead")
  .option('--limit <n>', 'emails on the page: 1 to 100 (default 20), to 1000 with --stuck')
  .option('--after <id>', 'the page older than this email (the next page: the last id of this one)')
  .option('--before <id>', 'the page newer than this email (the previous page)')
  .option('--stuck', 'the emails accepted and not final long after they were due (oldest first)')
  .action(
    run(async (config, out, o: { limit?: string; after?: string; before?: string; stuck?: boolean }) => {
      const query = new URLSearchParams();
      if (o.stuck) query.set('stuck', 'true');
      for (const key of ['limit', 'after', 'before'] as const) if (o[key] !== undefined) query.set(key, String(o[key]));
      const page = (await callApi(config, 'GET', `/v1/emails${query.size > 0 ? `?${query}` : ''}`)) as {
        hasMore?: boolean;
        data: { id: string; status: string; attempts: number; createdAt: string }[];
      };
      out.result(
        page,
        page.data.map((e) => ({ id: e.id, status: e.status, attempts: e.attempts, createdAt: e.createdAt })),
      );
      // On a terminal, where the next page starts (the JSON has hasMore and the ids).
      const last = page.data.at(-1);
      if (!out.json && page.hasMore && last) out.progress(`more: postline list --after ${last.id}\n`);
    }),
  );

program
  .command('events <id>')
  .description("an email's events, in order")
  .action(
    run(async (config, out, id: string) => {
      const { data } = await callApi(config, 'GET', `/v1/emails/${encodeURIComponent(id)}/events`);
      out.result(
        data,
        (data as { id: string; type: string; timestamp: string }[]).map((e) => ({ type: e.type, timestamp: e.timestamp, id: e.id })),
      );
    }),
  );

const dlq = program.command('dlq').description('the dead-letter topic (KAFKA_BROKERS, DEAD_LETTER_TOPIC)');
const filterOptions = (c: Command) =>
  c
    .option('--reason <text>', 'code or reason contains this')
    .option('--domain <domain>', 'a recipient is at this domain')
    .addOption(new Option('--since <time>', 'dead-lettered at or after this time (ISO 8601)').argParser((v) => new Date(v)))
    .option('--limit <n>', 'read at most this many dead letters', (v) => Number(v), 100_000);

async function deadLetters(config: CliConfig, o: Filter & { limit: number }) {
  const records = await readTopic(kafkaOf(config), config.DEAD_LETTER_TOPIC, o.limit);
  return records.map(toDeadLetter).filter((l) => matches(l, o));
}

filterOptions(dlq.command('list').description('list dead letters: position, email, code, reason')).action(
  run(async (config, out, o: Filter & { limit: number }) => {
    const rows = (await deadLetters(config, o)).map(summary);
    out.result(rows, rows);
  }),
);

dlq
  .command('show <position>')
  .description('one dead letter in full: <partition>:<offset> (or <offset> when the topic has one partition)')
  .action(
    run(async (config, out, position: string) => {
      const letters = (await readTopic(kafkaOf(config), config.DEAD_LETTER_TOPIC, Number.MAX_SAFE_INTEGER)).map(toDeadLetter);
      const found = letters.find((l) => l.position === position || (!position.includes(':') && l.position === `0:${position}`));
      if (!found) throw new Error(`no dead letter at ${position}`);
      const { message, ...rest } = found;
      out.result({ ...rest, key: message.key?.toString() ?? null, value: rest.envelope ? undefined : message.value?.toString('utf8') });
    }),
  );

filterOptions(dlq.command('redrive').description('put matching dead letters back on the requests topic (ids kept: the ledger dedupes)'))
  .option('--dry-run', 'say what would be redriven, change nothing')
  .option('--batch-size <n>', 'emails per ledger update and produce', (v) => Number(v), 100)
  .action(
    run(async (config, out, o: Filter & { limit: number; dryRun?: boolean; batchSize: number }) => {
      if (!config.DATABASE_URL) throw new Error('DATABASE_URL is needed: failed emails are reopened in the ledger first');
      const letters = await deadLetters(config, o);
      const db = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 });
      // Never auto-created: a mistyped EMAILS_TOPIC would get the cluster's defaults and no mailer.
      const producer = kafkaOf(config).producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
      try {
        const result = await redrive(letters, {
          db,
          producer,
          topic: config.EMAILS_TOPIC,
          batchSize: o.batchSize,
          dryRun: o.dryRun === true,
          progress: (done, total) => out.progress(`redrive: ${done}/${total}`),
        });
        out.result(result);
      } finally {
        await producer.disconnect();
        await db.end();
      }
    }),
  );

program
  .command('migrate')
  .description("bring the ledger to this release's schema (DATABASE_URL of the tables' owner): the services then only read and write")
  .action(
    run(async (config, out) => {
      if (!config.DATABASE_URL) throw new Error("DATABASE_URL is needed: the ledger to migrate, as its tables' owner");
      out.result(await migrateDatabase(config.DATABASE_URL));
    }),
  );

program
  .command('replay')
  .description('re-consume a range: move a stopped group back on the requests topic (the ledger makes sent emails a no-op)')
  .requiredOption('--group <group>', "the mailers' consumer group (CONSUMER_GROUP)")
  .requiredOption('--from <time|offset>', 'ISO 8601 time, or an offset for every partition')
  .option('--topic <topic>', 'default: EMAILS_TOPIC')
  .option('--dry-run', 'show the offsets, change nothing')
  .action(
    run(async (config, out, o: { group: string; from: string; topic?: string; dryRun?: boolean }) => {
      const admin = kafkaOf(config).admin();
      await admin.connect();
      try {
        const plan = await replayPlan(admin, o.group, o.topic ?? config.EMAILS_TOPIC, o.from);
        if (!o.dryRun) await applyReplay(admin, plan);
        out.result({ ...plan, applied: !o.dryRun }, plan.partitions);
      } finally {
        await admin.disconnect();
      }
    }),
  );

await program.parseAsync();
