import { overdueRetries, overdueScheduled, stuckEmails, takeTurn, unfinishedSummary } from '@postline/ledger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Gauge } from 'prom-client';
import type { MailerConfig } from '../config.js';

const LISTED = 20;

/**
 * The stuck-email audit. Every mailer exports the two gauges (one cheap indexed query), so any
 * instance's scrape is current; one mailer per interval lists the oldest stuck emails in a
 * warning, with their Kafka position where a mailer ever claimed them. The same list is
 * `GET /v1/emails?stuck=true` on the API.
 */
export const auditPlugin = fp(
  async (app: FastifyInstance, { config }: { config: MailerConfig }) => {
    const registers = [app.mailerMetrics.registry];
    const stuck = new Gauge({
      name: 'postline_stuck_emails',
      help: `Accepted emails with no final outcome STUCK_AFTER_MS (${config.STUCK_AFTER_MS} ms) after they were due`,
      registers,
    });
    const oldestQueued = new Gauge({
      name: 'postline_oldest_queued_email_seconds',
      help: 'How long the oldest email in state queued (accepted, never attempted) has waited (0: none)',
      registers,
    });

    const overdue = new Gauge({
      name: 'postline_scheduled_overdue_seconds',
      help: 'How long past its due time the most overdue scheduled email still waits to be released (0: none; the release tick is 1 s)',
      registers,
    });

    const overdueRetry = new Gauge({
      name: 'postline_retry_overdue_seconds',
      help: 'How long past its due time the most overdue parked retry still waits to be released (0: none; the release tick is 1 s)',
      registers,
    });

    const audit = async () => {
      try {
        overdue.set((await overdueScheduled(app.ledger)).oldestOverdueMs / 1000);
        overdueRetry.set((await overdueRetries(app.ledger)).oldestOverdueMs / 1000);
        const summary = await unfinishedSummary(app.ledger, config.STUCK_AFTER_MS);
        stuck.set(summary.stuck);
        oldestQueued.set(summary.oldestQueuedMs / 1000);
        if (summary.stuck === 0 || !(await takeTurn(app.ledger, 'stuck-audit', config.AUDIT_INTERVAL_MS))) return;
        const oldest = await stuckEmails(app.ledger, config.STUCK_AFTER_MS, LISTED);
        app.log.warn(
          {
            stuck: summary.stuck,
            oldestQueuedMs: Math.round(summary.oldestQueuedMs),
            oldest: oldest.map((e) => ({ id: e.id, status: e.status, createdAt: e.createdAt, kafka: e.kafka })),
          },
          'stuck emails: accepted, not final, overdue',
        );
      } catch (error) {
        app.log.warn({ err: error }, 'stuck-email audit failed');
      }
    };
    // From the moment the ledger is migrated (a boot step): before, every query would fail.
    let timer: NodeJS.Timeout | undefined;
    app.startup.when('ledger').then(
      () => {
        if (app.startup.signal.aborted) return;
        timer = setInterval(() => void audit(), config.AUDIT_INTERVAL_MS).unref();
        void audit();
      },
      () => {},
    );
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'audit', dependencies: ['metrics', 'ledger'] },
);
