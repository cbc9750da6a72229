import pg from 'pg';
import type { StackControl } from '../../packages/stack/src/control-client.js';
import type { System } from '../e2e/harness.js';
import { stackEnv } from '../helpers/env.js';
import type { ServiceProcess } from '../helpers/processes-mailer.js';
import { sleep } from '../helpers/wait.js';
import type { WebhookReceiver } from '../helpers/webhook-receiver.js';

/** What one fault takes away; two faults never hold the same one at once. */
export type Resource = 'mailer' | 'api' | 'webhooks' | 'broker' | 'postgres' | 'smtp' | 'receiver';

export interface Fault {
  resource: Resource;
  name: string;
  /** Breaks the resource and repairs it (or restarts the process) before it resolves; says what it did. */
  run(): Promise<string>;
}

export interface FaultTargets {
  system: System;
  control: StackControl;
  receiver: WebhookReceiver;
  random: () => number;
  /** Processes this run signalled: they are meant to be gone, every other one must still run. */
  signalled: Set<ServiceProcess>;
  /** How each SIGTERMed process exited, and how long it took. */
  terms: { name: string; code: number | null; signal: string | null; ms: number; tail?: string }[];
  /** Pids SIGSTOPped now: a teardown lets them go on if the run fails midway. */
  paused: Set<number>;
}

const between = (random: () => number, min: number, max: number) => Math.round(min + random() * (max - min));
const pick = <T>(random: () => number, items: T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * The faults a production deployment meets, each from the outside as it happens there: a process
 * killed (OOM, a node lost) or stopped (a rolling update) and restarted by its orchestrator without
 * waiting for anything, a broker or Postgres lost and back, an SMTP relay refusing or cutting
 * sessions, a webhook receiver down.
 */
export function faults(f: FaultTargets): Fault[] {
  const { system, control, receiver, random, signalled } = f;
  const alive = (list: ServiceProcess[]) => list.filter((p) => !signalled.has(p));
  const stop = async (p: ServiceProcess, name: string, signal: 'SIGKILL' | 'SIGTERM') => {
    signalled.add(p);
    const started = performance.now();
    p.child.kill(signal);
    const exit = await p.exited;
    if (signal !== 'SIGTERM') return;
    // What it logged last (warnings and errors), to say why a drain did not end cleanly.
    const tail = exit.code === 0 ? {} : { tail: p.output().slice(-2_000) };
    f.terms.push({ name, ...exit, ms: Math.round(performance.now() - started), ...tail });
  };
  const restartDelay = () => between(random, 0, 5_000);
  /** A process frozen and let go on (a long GC pause, a VM migrated, a laptop lid): it never knows it was away. */
  const pause = async (pid: number, minMs: number, maxMs: number) => {
    const ms = between(random, minMs, maxMs);
    f.paused.add(pid);
    process.kill(pid, 'SIGSTOP');
    await sleep(ms);
    process.kill(pid, 'SIGCONT');
    f.paused.delete(pid);
    return `for ${ms} ms`;
  };
  return [
    ...(['SIGKILL', 'SIGTERM'] as const).map(
      (signal): Fault => ({
        resource: 'mailer',
        name: `mailer ${signal}`,
        run: async () => {
          const running = alive(system.mailers);
          const victim = running.length > 0 ? pick(random, running) : null;
          if (victim) await stop(victim, 'mailer', signal);
          const wait = restartDelay();
          await sleep(wait);
          await system.spawnMailer();
          return `restarted after ${wait} ms`;
        },
      }),
    ),
    {
      // Past the session timeout (30 s) the group moves its partitions; past the claim TTL (60 s) another
      // mailer may take its claimed emails, and the frozen one, let go, may finish sends it had begun.
      resource: 'mailer',
      name: 'mailer frozen (SIGSTOP, then SIGCONT)',
      run: async () => {
        const running = alive(system.mailers);
        return running.length > 0 ? pause(pick(random, running).child.pid!, 2_000, 90_000) : 'no mailer to freeze';
      },
    },
    {
      resource: 'mailer',
      name: 'mailers scaled',
      run: async () => {
        const running = alive(system.mailers);
        if (running.length < 3) {
          await system.spawnMailer();
          return `up to ${running.length + 1}`;
        }
        await stop(pick(random, running), 'mailer', 'SIGTERM');
        return `down to ${running.length - 1}`;
      },
    },
    ...(['SIGKILL', 'SIGTERM'] as const).map(
      (signal): Fault => ({
        resource: 'api',
        name: `API ${signal}`,
        run: async () => {
          await stop(system.api, 'api', signal);
          await system.spawnApi();
          return 'restarted at once';
        },
      }),
    ),
    {
      resource: 'api',
      name: 'API frozen (SIGSTOP, then SIGCONT)',
      run: () => pause(system.api.child.pid!, 1_000, 20_000),
    },
    {
      resource: 'webhooks',
      name: 'webhook dispatcher SIGKILL',
      run: async () => {
        for (const d of alive(system.dispatchers)) await stop(d, 'webhooks', 'SIGKILL');
        const wait = restartDelay();
        await sleep(wait);
        await system.spawnWebhooks();
        return `restarted after ${wait} ms`;
      },
    },
    ...(['kill', 'stop'] as const).map(
      (action): Fault => ({
        resource: 'broker',
        name: `broker ${action}`,
        run: async () => {
          const node = pick(random, [1, 2, 3]);
          const down = between(random, 3_000, 20_000);
          await control.kafka(node, action);
          await sleep(down);
          await control.kafka(node, 'start');
          return `node ${node} down ${down} ms`;
        },
      }),
    ),
    {
      resource: 'broker',
      name: 'broker frozen (SIGSTOP, then SIGCONT)',
      run: async () => {
        const node = pick(random, await control.kafkaNodes());
        return node.pid ? `node ${node.id} ${await pause(node.pid, 2_000, 30_000)}` : `node ${node.id} not running`;
      },
    },
    ...(['kill', 'stop'] as const).map(
      (action): Fault => ({
        resource: 'postgres',
        name: `Postgres ${action}`,
        run: async () => {
          const down = between(random, 1_000, 10_000);
          await control.postgres(action);
          await sleep(down);
          await control.postgres('start');
          return `down ${down} ms`;
        },
      }),
    ),
    {
      // A failover as managed Postgres does it (Aurora, Patroni, RDS Multi-AZ): for a while the
      // address answers read-only (a replica not yet promoted), every write fails with 25006 on a
      // connection that is otherwise fine, and sessions made meanwhile stay read-only until closed,
      // as connections to a demoted node do. The run's own database: other files are not touched.
      resource: 'postgres',
      name: 'Postgres read-only (a failover onto a replica not yet promoted)',
      run: async () => {
        const window = between(random, 2_000, 15_000);
        const admin = new pg.Client(stackEnv().databaseUrl);
        await admin.connect();
        try {
          const { rows } = await admin.query<{ db: string }>('select current_database() as db');
          const database = rows[0]!.db;
          await admin.query(`alter database "${database}" set default_transaction_read_only = on`);
          // A failover cuts every session; the pools reconnect, read-only.
          const cut = await admin.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
               where datname = $1 and pid <> pg_backend_pid() and application_name like 'postline-%'`,
            [database],
          );
          await sleep(window);
          // Made before the window, this session is still writable.
          await admin.query(`alter database "${database}" reset default_transaction_read_only`);
          return `for ${window} ms (${cut.rowCount} sessions cut)`;
        } finally {
          await admin.end();
        }
      },
    },
    {
      resource: 'smtp',
      name: 'SMTP 421 at connect',
      run: async () => {
        const down = between(random, 5_000, 15_000);
        system.sink.refuseConnections = { code: 421, message: 'Service not available' };
        await sleep(down);
        system.sink.refuseConnections = null;
        return `for ${down} ms`;
      },
    },
    {
      resource: 'smtp',
      name: 'SMTP cuts sessions after the data, or answers 451',
      run: async () => {
        const down = between(random, 5_000, 15_000);
        // A cut after the data is an uncertain send: it is resent, with its Message-ID.
        system.sink.behaviour = (_raw, i) => (i % 7 === 0 ? 'drop' : i % 7 === 3 ? { code: 451, message: 'Try again later' } : 'accept');
        await sleep(down);
        system.sink.behaviour = () => 'accept';
        return `for ${down} ms`;
      },
    },
    {
      resource: 'receiver',
      name: 'webhook receiver 503',
      run: async () => {
        const down = between(random, 5_000, 20_000);
        receiver.mode = 'down';
        await sleep(down);
        receiver.mode = 'ok';
        return `for ${down} ms`;
      },
    },
  ];
}
