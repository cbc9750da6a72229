import { type EndpointSecrets, enabledEndpoints } from '@postline/ledger';
import { FreshValue } from '@postline/runtime';
import type pg from 'pg';

/** How stale the list of endpoints may be: a new endpoint receives events within this. */
const MAX_AGE_MS = 1_000;

/** The enabled endpoints and their secrets, read again at most once a second. */
export class EndpointCache {
  private byId = new Map<string, EndpointSecrets>();
  private readonly list: FreshValue<void>;

  constructor(db: pg.Pool) {
    this.list = new FreshValue(async () => {
      this.byId = new Map((await enabledEndpoints(db)).map((e) => [e.id, e]));
    }, MAX_AGE_MS);
  }

  /** Fresh enough (or `force`: now). */
  async refresh(force = false): Promise<void> {
    await this.list.get(force);
  }

  /** The endpoints of `account` subscribed to `type`. */
  subscribers(account: string, type: string): EndpointSecrets[] {
    return [...this.byId.values()].filter((e) => e.account === account && (e.events.includes('*') || e.events.includes(type)));
  }

  get(id: string): EndpointSecrets | undefined {
    return this.byId.get(id);
  }
}
