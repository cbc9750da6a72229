import { collectProcessMetrics } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectProcessMetrics(registry, 'postline_mailer_');
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: `postline_mailer_${name}`, help, labelNames, registers: [registry] });
  return {
    registry,
    sent: counter('emails_sent_total', 'Emails accepted by the SMTP server'),
    failed: counter('emails_failed_total', 'Emails given up on', ['reason']),
    retried: counter('emails_retried_total', 'Attempts that failed transiently and were scheduled again', ['uncertain']),
    deadLettered: counter('dead_lettered_total', 'Records written to the dead-letter topic', ['reason']),
    dedupeHits: counter('dedupe_hits_total', 'Redelivered records skipped because the email was already final'),
    deferred: counter('deferred_total', 'Times a partition was paused and a record left for later', ['reason']),
    offsetCommits: counter('offset_commits_total', 'Consumer offset commits sent to the group coordinator (COMMIT_INTERVAL_MS paces them)'),
    smtpUnavailable: counter('smtp_unavailable_total', 'Sends that could not reach the SMTP server'),
    ledgerErrors: counter('ledger_errors_total', 'Ledger queries that failed'),
    suppressed: counter('recipients_suppressed_total', 'Recipients skipped because they are on their account’s suppression list'),
    bounced: counter('recipients_bounced_total', 'Recipients the SMTP server refused (RCPT 4xx/5xx, or a hard bounce)'),
    eventsPublished: counter('events_published_total', 'Events the outbox relay published to the events topic'),
    relayErrors: counter('outbox_relay_errors_total', 'Outbox relay rounds that failed (the events stay in the outbox)'),
    parked: counter('emails_parked_total', 'Scheduled emails parked in the ledger until due (their partition moved on)'),
    released: counter('emails_released_total', 'Scheduled emails put back on the requests topic when due'),
    releaseErrors: counter('schedule_release_errors_total', 'Release rounds that failed (the emails stay scheduled)'),
    retriesParked: counter('retries_parked_total', 'Retry records parked in the ledger until due (their retry partition moved on)'),
    retriesReleased: counter('retries_released_total', 'Parked retry records appended to their topic again when due'),
    retryReleaseErrors: counter('retry_release_errors_total', 'Retry release rounds that failed (the records stay parked)'),
    releaseLateness: new Histogram({
      name: 'postline_mailer_schedule_release_lateness_seconds',
      help: 'How long after its due time a scheduled email was released to the requests topic',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    smtpDuration: new Histogram({
      name: 'postline_mailer_smtp_send_duration_seconds',
      help: 'Time to hand one email to the SMTP server',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'postline_mailer_queue_wait_seconds',
      help: 'Time from an email’s append to the requests topic to the mailer claiming it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'postline_mailer_consumer_lag',
      help: 'Records behind the end of each partition',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
  };
}

export type MailerMetrics = ReturnType<typeof createMetrics>;

declare module 'fastify' {
  interface FastifyInstance {
    mailerMetrics: MailerMetrics;
  }
}

export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const metrics = createMetrics();
    app.decorate('mailerMetrics', metrics);
    app.get('/metrics', async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'metrics' },
);
