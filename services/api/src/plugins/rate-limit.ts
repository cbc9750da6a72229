import type { FastifyReply } from 'fastify';
import { RateLimitedError } from '../errors.js';

/**
 * A per-API-key limit in fixed one-minute windows, in this process's memory: on emails (not
 * requests: a batch of 100 costs 100) for the send routes, on requests for the others. With
 * several API replicas each enforces its own share. Answers carry the IETF RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers).
 */
export class KeyRateLimiter {
  private windows = new Map<string, { start: number; used: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now = () => Date.now(),
  ) {}

  /** Counts `emails` (or requests) against `account`, sets the headers (on HTTP), throws 429 when over. */
  take(account: string, emails: number, reply?: FastifyReply): void {
    const now = this.now();
    const windowStart = now - (now % 60_000);
    let w = this.windows.get(account);
    if (!w || w.start !== windowStart) {
      w = { start: windowStart, used: 0 };
      this.windows.set(account, w);
    }
    const resetSeconds = Math.ceil((windowStart + 60_000 - now) / 1000);
    const allowed = w.used + emails <= this.perMinute;
    if (allowed) w.used += emails;
    reply?.header('RateLimit-Policy', `${this.perMinute};w=60`);
    reply?.header('RateLimit-Limit', this.perMinute);
    reply?.header('RateLimit-Remaining', Math.max(0, this.perMinute - w.used));
    reply?.header('RateLimit-Reset', resetSeconds);
    if (!allowed) {
      reply?.header('Retry-After', resetSeconds);
      throw new RateLimitedError();
    }
  }
}
