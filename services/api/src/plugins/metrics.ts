import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'postline_api_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'postline_api_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'postline_api_emails_accepted_total',
      help: 'Emails answered 202 (acknowledged by Kafka)',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'postline_api_requests_rejected_total',
      help: 'Requests answered with an error, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    produceDuration: new Histogram({
      name: 'postline_api_produce_duration_seconds',
      help: 'Time from produce request to acks=all acknowledgement',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    produceBatchSize: new Histogram({
      name: 'postline_api_produce_batch_records',
      help: 'Records per produce request (micro-batching)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createMetrics>;

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

/** Prometheus metrics, including an HTTP duration histogram, served at GET /metrics. */
export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const metrics = createMetrics();
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'metrics' },
);
