import { LogThrottle, shutdownPlugin, startupPlugin } from '@postline/runtime';
import { type FastifyInstance, type FastifyPluginAsync, LogController } from 'fastify';
import fp from 'fastify-plugin';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { REQUEST_CHECK_MS, REQUEST_TIMEOUT_MS } from './body-watch.js';
import { answerClientError } from './client-error.js';
import type { ApiConfig } from './config.js';
import { NotReadyError, ShuttingDownError } from './errors.js';
import { shapedJsonParser } from './json-shape.js';
import { accessLogPlugin } from './plugins/access-log.js';
import { authPlugin } from './plugins/auth.js';
import { bodyBudgetPlugin } from './plugins/body-budget.js';
import { kafkaProducerPlugin } from './plugins/kafka-producer.js';
import { ledgerPlugin } from './plugins/ledger.js';
import { metricsPlugin } from './plugins/metrics.js';
import { problemHandlerPlugin } from './plugins/problem-handler.js';
import { KeyRateLimiter } from './plugins/rate-limit.js';
import { resendRoutes } from './resend/routes.js';
import { docsPlugin } from './routes/docs.js';
import { emailRoutes } from './routes/emails.js';
import { healthRoutes } from './routes/health.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { templateRoutes } from './routes/templates.js';
import { webhookRoutes } from './routes/webhooks.js';
import { apiSchemas } from './schemas.js';
import { submissionPlugin } from './submission/plugin.js';
import { TemplateRenderer } from './templates/render.js';
import { validatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Renders template sends (resolved from the ledger, compiled once per published version). */
    templates: TemplateRenderer;
    /** The per-key email rate limit, shared by /v1 and /resend. */
    emailLimiter: KeyRateLimiter;
    /** The other authenticated requests, per key (REQUEST_RATE_LIMIT_PER_MINUTE): auth.ts counts them. */
    requestLimiter: KeyRateLimiter;
    /** Warnings each request repeats while a dependency is down: one line per 10 s per warning. */
    recurring: LogThrottle;
  }
}

/** Everything the API is, as one plugin: resources, error handling, routes. */
/** The ledger and the queue (`app.ledger`, `app.recordAccepted`, `app.emailQueue`): Postgres and Kafka unless given. */
async function realResources(instance: FastifyInstance, { config }: { config: ApiConfig }) {
  await instance.register(ledgerPlugin, { config });
  await instance.register(kafkaProducerPlugin, { config });
}

export const app = fp(
  async (instance: FastifyInstance, options: { config: ApiConfig; resources?: FastifyPluginAsync<{ config: ApiConfig }> }) => {
    const { config } = options;
    // JSON only: fastify also parses text/plain by default, which would let a text body reach
    // validation instead of being refused as the wrong media type (415).
    instance.removeContentTypeParser('text/plain');
    // A body's nesting and its objects' keys are counted before JSON.parse (json-shape.ts).
    shapedJsonParser(instance);
    // Route schemas are zod: they validate requests and generate the OpenAPI document.
    instance.setValidatorCompiler(validatorCompiler);
    instance.setSerializerCompiler(serializerCompiler);
    const schemas = apiSchemas(config.limits, config.MAX_BATCH_SIZE);
    instance.decorate('recurring', new LogThrottle(10_000));
    // Boot work runs in the background (runtime/startup.ts): the server listens at once.
    // First: its preClose starts the one deadline every wait of the close shares.
    await instance.register(shutdownPlugin, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
    await instance.register(startupPlugin);
    await instance.register(metricsPlugin, { port: config.METRICS_PORT, host: config.METRICS_HOST });
    // An open connection costs about 2.4 KB of heap (measured: 10,000 idle ones, 24 MB), and Node
    // takes any number: ~50,000 held at once (one client opening them at 830/s; each is cut after
    // 60 s without a whole request) would need ~120 MB, nearly all of the 128 MB cap (not run
    // here: this host allows 20,000 descriptors a process). Past the cap, a new
    // connection is closed at once; the process and the requests it is serving carry on.
    instance.server.maxConnections = config.MAX_CONNECTIONS;
    instance.server.on('drop', () => {
      instance.metrics.connectionsRefused.inc();
      instance.recurring.warn(instance.log, { max: config.MAX_CONNECTIONS }, 'connection refused: MAX_CONNECTIONS are open');
    });
    await instance.register(problemHandlerPlugin);
    await instance.register(accessLogPlugin);
    // The infrastructure-free test tier passes in-memory stand-ins here (test/helpers/memory-api.ts).
    await instance.register(fp(options.resources ?? realResources), { config });
    const templates = new TemplateRenderer(instance.ledger, config.limits, {
      requestBytes: config.BODY_LIMIT_BYTES,
      renderMsPerSecond: config.TEMPLATE_RENDER_MS_PER_SECOND,
      threads: config.TEMPLATE_THREADS,
      onThreadError: (error) => instance.log.error({ err: error }, 'template thread failed'),
    });
    instance.decorate('templates', templates);
    instance.addHook('onClose', () => templates.close());
    instance.decorate('emailLimiter', new KeyRateLimiter(config.RATE_LIMIT_PER_MINUTE));
    instance.decorate('requestLimiter', new KeyRateLimiter(config.REQUEST_RATE_LIMIT_PER_MINUTE));
    await instance.register(authPlugin, { config });
    await instance.register(bodyBudgetPlugin, { config });

    // Once close() starts, new requests get a problem+json 503 (fastify's own would be plain);
    // those already in flight finish and are answered before the producer is flushed.
    let closing = false;
    instance.addHook('preClose', async () => {
      closing = true;
    });
    instance.addHook('onRequest', async (request, reply) => {
      if (closing) {
        reply.header('Connection', 'close');
        throw new ShuttingDownError();
      }
      // Until Kafka and the ledger are ready, email routes answer a coded 503 a client retries;
      // health, metrics and docs answer as usual.
      if (!instance.startup.done && (request.url.startsWith('/v1/') || request.url.startsWith('/resend/'))) {
        reply.header('Retry-After', '1');
        throw new NotReadyError();
      }
    });

    await instance.register(docsPlugin, { registry: schemas.registry });
    await instance.register(healthRoutes);
    await instance.register(emailRoutes, { config, schemas, prefix: '/v1' });
    await instance.register(webhookRoutes, { config, schemas, prefix: '/v1' });
    await instance.register(suppressionRoutes, { schemas, prefix: '/v1' });
    await instance.register(templateRoutes, { config, schemas, prefix: '/v1' });
    await instance.register(resendRoutes, { config, schemas, prefix: '/resend' });
    await instance.register(submissionPlugin, { config, schemas });
  },
);

/** Fastify server options that belong with the app (tests build the same server). */
export function serverOptions(config: ApiConfig) {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    return503OnClosing: false,
    forceCloseConnections: 'idle' as const,
    requestIdHeader: 'x-request-id',
    // request.ip: the client a listed balancer names, else the connection's address (config.ts).
    trustProxy: config.HTTP_PROXY_FROM.length > 0 ? [...config.HTTP_PROXY_FROM] : false,
    // Fastify turns off Node's bound on how long a request may take to arrive; without one, a client
    // that trickles a byte now and then (or whose upload goes on after a 401) held its socket forever.
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { connectionsCheckingInterval: REQUEST_CHECK_MS },
    clientErrorHandler: answerClientError,
    // One access line a request instead of fastify's two (plugins/access-log.ts). Through a
    // LogController: the top-level `disableRequestLogging` printed a deprecation warning at every boot.
    logController: new LogController({ disableRequestLogging: true }),
  };
}
