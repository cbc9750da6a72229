import { createServer, type Server } from 'node:http';
import { collectProcessMetrics } from '@postline/runtime';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry } from 'prom-client';

function createMetrics() {
  const registry = new Registry();
  collectProcessMetrics(registry, 'postline_api_');
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
    connectionsRefused: new Counter({
      name: 'postline_api_connections_refused_total',
      help: 'HTTP connections closed as they opened, because MAX_CONNECTIONS were open',
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
    /** The separate /metrics server when METRICS_PORT is set (null: /metrics is on the API's port). */
    metricsServer: Server | null;
  }
}

/**
 * Prometheus metrics, including an HTTP duration histogram, at GET /metrics: on the API's port,
 * or with `port` set on a listener of its own (METRICS_PORT, METRICS_HOST) so it need not be public.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { port?: number | undefined; host?: string }) => {
    const metrics = createMetrics();
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    if (options.port === undefined) {
      app.decorate('metricsServer', null);
      app.get('/metrics', async (_request, reply) => {
        reply.type(metrics.registry.contentType);
        return metrics.registry.metrics();
      });
      return;
    }
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      metrics.registry.metrics().then(
        (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', resolve);
    });
    app.decorate('metricsServer', server);
    app.addHook('onClose', async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
  },
  { name: 'metrics' },
);
