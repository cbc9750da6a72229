import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Gauge } from 'prom-client';
import type { MailerConfig } from '../config.js';
import { type Stall, StallMonitor } from '../stall-monitor.js';

declare module 'fastify' {
  interface FastifyInstance {
    stallMonitor: StallMonitor;
    /** Stalled partitions as of the last check (every few seconds). */
    stalls(): Stall[];
  }
}

const CHECK_MS = 5_000;
const keyOf = (s: { topic: string; partition: number }) => `${s.topic}/${s.partition}`;

/**
 * Watches every assigned partition (stall-monitor.ts): metrics for the oldest unfinished record,
 * a warning when a record outlives its send deadline by far, an error when a partition stalls.
 * /readyz and /healthz read the stalls, so an orchestrator replaces a stalled mailer.
 */
export const watchdogPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const monitor = new StallMonitor(config.STALL_TIMEOUT_MS);
    let current: Stall[] = [];
    const warned = new Set<string>();
    const registers = [app.mailerMetrics.registry];
    new Gauge({
      name: 'postline_mailer_partition_oldest_unfinished_seconds',
      help: 'Age of the oldest record of each assigned partition that is being handled and not finished (0: none)',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of monitor.oldestUnfinished()) this.set({ topic: p.topic, partition: String(p.partition) }, p.ageMs / 1000);
      },
    });
    new Gauge({
      name: 'postline_mailer_stalled_partitions',
      help: `Assigned partitions with work that have not moved for STALL_TIMEOUT_MS (${config.STALL_TIMEOUT_MS} ms)`,
      registers,
      collect() {
        this.set(current.length);
      },
    });

    const check = async () => {
      // A ledger outage holds records on purpose (an outcome is never dropped): not a stall.
      const ledgerUp = await app.ledger.query('select 1').then(
        () => true,
        () => false,
      );
      if (!ledgerUp) monitor.dependencyDown(CHECK_MS * 2);
      for (const p of monitor.oldestUnfinished()) {
        const key = `${keyOf(p)}@${p.offset}`;
        if (p.offset === null || p.ageMs < 2 * config.SEND_TIMEOUT_MS || warned.has(key)) continue;
        warned.add(key);
        app.log.warn(
          { topic: p.topic, partition: p.partition, offset: p.offset, ageMs: p.ageMs },
          'record unfinished long past its send deadline',
        );
      }
      if (warned.size > 10_000) warned.clear();
      const stalls = monitor.stalls();
      const was = new Set(current.map(keyOf));
      const now = new Set(stalls.map(keyOf));
      for (const s of stalls) if (!was.has(keyOf(s))) app.log.error({ ...s }, 'partition stalled: this mailer should be replaced');
      for (const s of current) if (!now.has(keyOf(s))) app.log.info({ topic: s.topic, partition: s.partition }, 'partition moving again');
      current = stalls;
    };
    const timer = setInterval(() => void check(), CHECK_MS).unref();

    app.decorate('stallMonitor', monitor);
    app.decorate('stalls', () => current);
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'watchdog', dependencies: ['metrics', 'ledger'] },
);
