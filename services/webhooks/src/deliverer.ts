import { type DueDelivery, disableEndpoint, recordAttempt, releaseBackoff, takeDue } from '@postline/ledger';
import { CoalescedLoop, type LogSink } from '@postline/runtime';
import type pg from 'pg';
import type { WebhooksConfig } from './config.js';
import type { EndpointCache } from './endpoint-cache.js';
import type { WebhookMetrics } from './plugins/metrics.js';
import { WebhookPoster } from './post.js';
import { nextAttemptAt } from './retry-schedule.js';
import { signature } from './sign.js';

/** How often the deliverer looks for due deliveries when nothing nudged it (retries, other dispatchers' work). */
const TICK_MS = 250;

/**
 * Takes due deliveries from the ledger and POSTs them. Isolation: at most
 * WEBHOOK_CONCURRENCY_PER_ENDPOINT in flight per endpoint, and an endpoint at that limit is not
 * even read, so a slow or failing receiver uses its own slots only; email sending never waits
 * on any of this (a separate process, fed by the events topic).
 */
export class Deliverer {
  private readonly perEndpoint = new Map<string, number>();
  private inFlight = 0;
  private readonly loop = new CoalescedLoop(
    () => this.poll().catch((error) => this.log.warn({ err: error }, 'could not read due deliveries')),
    TICK_MS,
  );
  private readonly running = new Set<Promise<void>>();
  /** Endpoints whose last attempt here failed: their next success releases their backlog. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly db: pg.Pool,
    private readonly endpoints: EndpointCache,
    private readonly config: WebhooksConfig,
    private readonly metrics: WebhookMetrics,
    private readonly log: LogSink,
    private readonly poster = new WebhookPoster(config.targets, config.WEBHOOK_TIMEOUT_MS),
  ) {}

  start(): void {
    this.loop.start();
  }

  nudge(): void {
    this.loop.nudge();
  }

  private async poll(): Promise<void> {
    const free = this.config.WEBHOOK_CONCURRENCY - this.inFlight;
    if (free <= 0) return;
    const busy = [...this.perEndpoint].filter(([, n]) => n >= this.config.WEBHOOK_CONCURRENCY_PER_ENDPOINT).map(([id]) => id);
    const due = await takeDue(this.db, {
      limit: free,
      perEndpoint: this.config.WEBHOOK_CONCURRENCY_PER_ENDPOINT,
      busy,
      // Past this the lease lapses and another dispatcher may take it: well past one attempt.
      leaseMs: this.config.WEBHOOK_TIMEOUT_MS * 3,
    });
    if (due.length > 0) await this.endpoints.refresh();
    for (const d of due) {
      const slot = this.attempt(d).finally(() => {
        this.running.delete(slot);
        this.nudge();
      });
      this.running.add(slot);
    }
  }

  private async attempt(d: DueDelivery): Promise<void> {
    const count = (this.perEndpoint.get(d.endpointId) ?? 0) + 1;
    this.perEndpoint.set(d.endpointId, count);
    this.inFlight++;
    this.metrics.inFlight.inc();
    try {
      await this.deliver(d);
    } catch (error) {
      // The attempt's outcome could not be written: its lease lapses and it is tried again.
      this.log.warn({ err: error, endpointId: d.endpointId, eventId: d.eventId }, 'delivery outcome not recorded');
    } finally {
      const left = (this.perEndpoint.get(d.endpointId) ?? 1) - 1;
      if (left === 0) this.perEndpoint.delete(d.endpointId);
      else this.perEndpoint.set(d.endpointId, left);
      this.inFlight--;
      this.metrics.inFlight.dec();
    }
  }

  private async deliver(d: DueDelivery): Promise<void> {
    const endpoint = this.endpoints.get(d.endpointId);
    const base = { endpointId: d.endpointId, eventId: d.eventId };
    if (!endpoint) {
      // Disabled since it was queued (deleted ones take their deliveries with them).
      await recordAttempt(this.db, {
        ...base,
        delivered: false,
        statusCode: null,
        latencyMs: 0,
        error: 'endpoint disabled',
        nextAttemptAt: null,
      });
      return;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': d.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature(endpoint.secrets, d.eventId, timestamp, d.body),
    };
    const result = await this.poster.post(endpoint.url, headers, d.body);
    const delivered = result.status !== null && result.status >= 200 && result.status < 300;
    const attempt = { ...base, statusCode: result.status, latencyMs: result.latencyMs, error: result.error };
    if (delivered) {
      await recordAttempt(this.db, { ...attempt, delivered: true, nextAttemptAt: null });
      this.record('delivered', result.latencyMs);
      if (d.attempts > 0 || this.failing.delete(d.endpointId)) {
        const released = await releaseBackoff(this.db, d.endpointId);
        if (released > 0) this.log.info({ endpointId: d.endpointId, released }, 'endpoint answers again: its backlog is due now');
      }
      return;
    }
    this.failing.add(d.endpointId);
    if (result.status === 410) {
      await recordAttempt(this.db, { ...attempt, delivered: false, error: '410 Gone: endpoint disabled', nextAttemptAt: null });
      await disableEndpoint(this.db, d.endpointId, 'the receiver answered 410 Gone');
      await this.endpoints.refresh(true);
      this.record('disabled', result.latencyMs);
      this.log.warn({ endpointId: d.endpointId }, 'webhook endpoint disabled: 410 Gone');
      return;
    }
    const next = nextAttemptAt(d.attempts + 1);
    await recordAttempt(this.db, { ...attempt, delivered: false, error: result.error ?? `HTTP ${result.status}`, nextAttemptAt: next });
    this.record(next ? 'retry' : 'failed', result.latencyMs);
    if (!next) this.log.warn({ endpointId: d.endpointId, eventId: d.eventId, attempts: d.attempts + 1 }, 'webhook delivery given up');
  }

  private record(result: string, latencyMs: number): void {
    this.metrics.attempts.inc({ result });
    this.metrics.duration.observe({ result }, latencyMs / 1000);
  }

  /** Stops taking deliveries, waits for those in flight (bounded by their timeout), and closes their connections. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all(this.running);
    this.poster.close();
  }
}
