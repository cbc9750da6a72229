import { collectProcessMetrics } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectProcessMetrics(registry, 'postline_webhooks_');
  return {
    registry,
    attempts: new Counter({
      name: 'postline_webhooks_attempts_total',
      help: 'Delivery attempts by result: delivered (2xx), retry (scheduled again), failed (gave up), disabled (410 Gone)',
      labelNames: ['result'],
      registers: [registry],
    }),
    queued: new Counter({
      name: 'postline_webhooks_deliveries_queued_total',
      help: 'Deliveries queued (one per event and endpoint)',
      registers: [registry],
    }),
    offsetCommits: new Counter({
      name: 'postline_webhooks_offset_commits_total',
      help: 'Consumer offset commits sent to the group coordinator (COMMIT_INTERVAL_MS paces them)',
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'postline_webhooks_attempt_duration_seconds',
      help: 'Time from connecting to the receiver’s answer (or the timeout)',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: 'postline_webhooks_in_flight', help: 'Deliveries being attempted by this process', registers: [registry] }),
    pending: new Gauge({
      name: 'postline_webhooks_pending',
      help: 'Deliveries waiting (due or backing off), all dispatchers',
      registers: [registry],
    }),
  };
}

export type WebhookMetrics = ReturnType<typeof createMetrics>;

declare module 'fastify' {
  interface FastifyInstance {
    webhookMetrics: WebhookMetrics;
  }
}

export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const metrics = createMetrics();
    app.decorate('webhookMetrics', metrics);
    app.get('/metrics', async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'metrics' },
);
