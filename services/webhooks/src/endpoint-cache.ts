import { type EndpointSecrets, enabledEndpoints } from '@postline/ledger';
import { monotonicMs } from '@postline/runtime';
import type pg from 'pg';

/** How stale the list of endpoints may be: a new endpoint receives events within this. */
const MAX_AGE_MS = 1_000;

/** The enabled endpoints and their secrets, read again at most once a second. */
export class EndpointCache {
  private byId = new Map<string, EndpointSecrets>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  constructor(private readonly db: pg.Pool) {}

  /** Fresh enough (or `force`: now). */
  async refresh(force = false): Promise<void> {
    if (!force && monotonicMs() - this.loadedAt < MAX_AGE_MS) return;
    this.loading ??= enabledEndpoints(this.db)
      .then((list) => {
        this.byId = new Map(list.map((e) => [e.id, e]));
        this.loadedAt = monotonicMs();
      })
      .finally(() => {
        this.loading = null;
      });
    await this.loading;
  }

  /** The endpoints of `account` subscribed to `type`. */
  subscribers(account: string, type: string): EndpointSecrets[] {
    return [...this.byId.values()].filter((e) => e.account === account && (e.events.includes('*') || e.events.includes(type)));
  }

  get(id: string): EndpointSecrets | undefined {
    return this.byId.get(id);
  }
}
