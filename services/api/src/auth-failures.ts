import { clientOf } from './client-address.js';

/**
 * Counts failed authentications (a wrong API key over HTTP, a wrong password in SMTP AUTH) by
 * client address. A client may fail `perMinute` times at once, then once every 60/`perMinute`
 * seconds (a token bucket, kept as GCRA's one timestamp a client: no edge of a fixed window where
 * twice the budget passes). A client past it is refused until its next try is due, whatever key it
 * then sends, so a guess made while refused tells it nothing. Without it one keep-alive connection
 * tried thousands of keys a second, and an 8-character key is allowed (config.ts). A client is an
 * IPv4 address or an IPv6 /64 (what one host gets: otherwise every guess could come from a new
 * address of it).
 *
 * Memory is bounded: a client is kept only until its budget is whole again (forgotten at its
 * next request or within a minute), at most `maxClients` of them (~100 B each); past that a new
 * one is not counted (`failed()` says so, and the caller logs it). While no client is kept, a
 * request costs one size check.
 */
export class AuthFailures {
  /** Per client: when its budget is whole again (GCRA's theoretical arrival time), in ms. */
  private readonly due = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {
    this.intervalMs = 60_000 / perMinute;
    this.toleranceMs = 60_000 - this.intervalMs;
  }

  /** Clients kept now (for tests and metrics). */
  get size(): number {
    return this.due.size;
  }

  /** Seconds until `address` may try again (0: it may now). */
  retryAfter(address: string | undefined): number {
    // Every authenticated request asks: with no client failing, that is all it costs.
    if (this.due.size === 0) return 0;
    const client = clientOf(address);
    const due = this.due.get(client);
    if (due === undefined) return 0;
    const now = this.now();
    if (due <= now) this.due.delete(client); // its budget is whole again
    const wait = due - now - this.toleranceMs;
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  /** Counts one failure of `address`; false when it could not be counted (the table is full). */
  failed(address: string | undefined): boolean {
    const client = clientOf(address);
    const now = this.now();
    // Clients that stopped failing are forgotten once a minute, or sooner when the table is full.
    if (now - this.lastSweep >= 60_000) this.sweep(now);
    const due = this.due.get(client);
    if (due === undefined && this.due.size >= this.maxClients && !this.sweep(now)) return false;
    this.due.set(client, Math.max(due ?? now, now) + this.intervalMs);
    return true;
  }

  /** Forgets the clients whose budget is whole again, once a second at most; true if that made room. */
  private sweep(now: number): boolean {
    if (now - this.lastSweep < 1_000) return false;
    this.lastSweep = now;
    for (const [client, due] of this.due) if (due <= now) this.due.delete(client);
    return this.due.size < this.maxClients;
  }
}
