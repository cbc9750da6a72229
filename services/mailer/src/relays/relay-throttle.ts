import type { SmtpOutcome } from '../smtp-outcome.js';

/** The slowest a throttled relay is ever paced (recipients/s): it still learns when the limit lifts. */
const MIN_RATE = 1;
/**
 * Additive increase, per second in which sends succeeded: a tenth of the rate the last cut
 * halved (so a relay is back where it was cut 5 s later, then probes on at that step), and at
 * least this (messages/s). A constant step between cuts, scaled to the relay's own pace: +2/s
 * would take minutes to win back a 500/s relay's halving.
 */
const MIN_INCREASE = 2;
/**
 * One cut per this long: the throttling replies of one burst are one signal (like TCP's one cut
 * per round trip), or 20 refusals in flight together would divide the rate by a million.
 */
const CUT_EVERY_MS = 1_000;

export type CutReason = 'reply 421' | 'reply 451' | 'reply 454' | 'throttling text' | 'connection refused';

/**
 * Why an outcome says "slow down", or null: 421 (busy, closing), 451 4.3.x/4.7.x (resources,
 * policy), 454 4.7.0 ("Throttling", SES), a 4xx whose text says rate or throttle, or a refused
 * connection. A 421 or a refused connection counts only while the relay was taking our mail a
 * moment before (`recentlyOk`): a relay shedding load. From a relay that is simply down they are
 * its breaker's business; cutting on every probe would leave it at 1/s when it comes back.
 */
export function throttleReason(outcome: SmtpOutcome, recentlyOk: boolean): CutReason | null {
  if (outcome.kind === 'unavailable') return recentlyOk ? 'connection refused' : null;
  // Sent a transaction per recipient (send-each.ts), an email is `sent` once one was accepted, and
  // a relay that throttled a later one says so in that recipient's refusal.
  if (outcome.kind === 'sent') {
    for (const { response } of outcome.refusals) {
      const reason = response ? replyReason(response, true) : null;
      if (reason) return reason;
    }
    return null;
  }
  if (outcome.kind !== 'transient' || !outcome.response) return null;
  return replyReason(outcome.response, recentlyOk);
}

/** throttleReason() of one 4xx reply. */
function replyReason(r: string, recentlyOk: boolean): CutReason | null {
  if (r.startsWith('421')) return recentlyOk ? 'reply 421' : null;
  if (/^451[ -]4\.[37]\./.test(r)) return 'reply 451';
  if (/^454[ -]4\.7\.0/.test(r)) return 'reply 454';
  if (/^4\d\d/.test(r) && /throttl|rate limit|too many (messages|connections)|slow down/i.test(r)) return 'throttling text';
  return null;
}

/**
 * One relay's send rate and concurrency, AIMD: both grow additively while sends succeed and
 * halve on a throttling reply, never above the relay's configured `maxRate` or the pool size.
 * Unthrottled and without a `maxRate`, nothing is paced. Pure (the clock is given), so its
 * convergence is unit-tested; the pool asks it for a slot before each send.
 */
export class RelayThrottle {
  /** Recipients/s; null: not paced (no cap configured and never throttled). */
  private rateLimit: number | null;
  private concurrency: number;
  private inFlight = 0;
  private nextSlotAt = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastIncreaseAt = 0;
  private lastOkAt = Number.NEGATIVE_INFINITY;
  private step = MIN_INCREASE;
  /** Send start times in the last second, one a recipient: the rate actually achieved, for the first cut. */
  private readonly starts: number[] = [];

  constructor(
    private readonly maxRate: number | null,
    private readonly maxConcurrency: number,
    private readonly onCut: (reason: CutReason, rate: number) => void = () => {},
  ) {
    this.rateLimit = maxRate;
    this.concurrency = maxConcurrency;
  }

  /** Recipients/s this relay is paced at now (null: not paced). */
  get rate(): number | null {
    return this.rateLimit;
  }

  get concurrencyLimit(): number {
    return this.concurrency;
  }

  /**
   * Reserves the next send slot for `count` recipients: how many ms until it (0: now). A relay's
   * rate counts recipients, as SES's sending quota does (an email to 50 is 50 against it), so an
   * email takes a slot for each and the next email's slot comes after them all. A slot is also a
   * concurrency place, so `begin()` must follow once the wait is over, unless the caller gives it back.
   */
  reserve(now: number, count = 1): number {
    const interval = this.rateLimit === null ? 0 : 1_000 / this.rateLimit;
    const at = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = at + interval * count;
    return at - now;
  }

  /** Gives back the latest reservation, of `count` recipients (the caller will not send now). */
  unreserve(count = 1): void {
    if (this.rateLimit !== null) this.nextSlotAt -= (1_000 / this.rateLimit) * count;
  }

  /** Whether another send may start now within the concurrency limit. */
  hasRoom(): boolean {
    return this.inFlight < this.concurrency;
  }

  /** A send to `count` recipients starts (the achieved rate, which a first cut halves, counts recipients too). */
  begin(now: number, count = 1): void {
    this.inFlight++;
    for (let i = 0; i < count; i++) this.starts.push(now);
    while (this.starts.length > 0 && (this.starts[0] as number) <= now - 1_000) this.starts.shift();
  }

  /** A send ended: additive increase on success, halving on a throttling reply (null: it threw). */
  end(outcome: SmtpOutcome | null, now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!outcome) return;
    const reason = throttleReason(outcome, now - this.lastOkAt < 5_000);
    if (reason) this.cut(reason, now);
    else if (outcome.kind === 'sent' || outcome.kind === 'permanent') {
      this.lastOkAt = now;
      this.increase(now);
    }
  }

  private cut(reason: CutReason, now: number): void {
    if (now - this.lastCutAt < CUT_EVERY_MS) return;
    this.lastCutAt = now;
    this.lastIncreaseAt = now;
    const achieved = this.starts.filter((s) => s > now - 1_000).length;
    const current = this.rateLimit === null ? achieved : Math.min(this.rateLimit, Math.max(achieved, MIN_RATE));
    this.rateLimit = Math.max(MIN_RATE, current / 2);
    this.step = Math.max(MIN_INCREASE, current / 10);
    this.concurrency = Math.max(1, Math.floor(this.concurrency / 2));
    // The slots already promised at the old rate stay promised; new ones follow the new rate.
    this.onCut(reason, this.rateLimit);
  }

  private increase(now: number): void {
    const seconds = Math.floor((now - this.lastIncreaseAt) / 1_000);
    if (seconds < 1) return;
    this.lastIncreaseAt = now;
    this.concurrency = Math.min(this.maxConcurrency, this.concurrency + 1);
    if (this.rateLimit === null) return;
    const raised = this.rateLimit + this.step * Math.min(seconds, 5);
    this.rateLimit = this.maxRate === null ? raised : Math.min(this.maxRate, raised);
  }
}
