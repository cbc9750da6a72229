/**
 * Render time per account, a token bucket that may go into debt: an account renders while its
 * balance is not below zero, pays what each render took afterwards, and gets `perSecondMs` back each
 * second, up to `burstMs`. Why: a key holder's template that runs to the render limit takes 250 ms
 * a request, each a 400 that costs nothing against the email rate limit. On the event loop (as
 * renders once ran), four such requests at once made another account's plain send take 1,027 ms
 * (p50) instead of 10.6; on the template threads they would hold the threads. A render is never cut short for the balance (a template
 * that fits its limits is never refused as too slow because of the sends before it): the next
 * one waits for the balance instead, with a 429.
 */
export class RenderAllowance {
  private readonly balances = new Map<string, { ms: number; at: number }>();

  constructor(
    private readonly perSecondMs: number,
    private readonly burstMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds `account` may start rendering with now; below zero: its debt, and no render until it is paid. */
  balance(account: string): number {
    return this.refilled(account).ms;
  }

  /** Charges `ms` of rendering to `account`. */
  spend(account: string, ms: number): void {
    this.refilled(account).ms -= ms;
  }

  /** Whole seconds until `account` may render again (at least 1). */
  retryAfterSeconds(account: string): number {
    return Math.max(1, Math.ceil(-this.balance(account) / this.perSecondMs));
  }

  /** `account`'s balance, with what the time since it was last read gave back. */
  private refilled(account: string): { ms: number; at: number } {
    const now = this.now();
    const b = this.balances.get(account) ?? { ms: this.burstMs, at: now };
    b.ms = Math.min(this.burstMs, b.ms + ((now - b.at) * this.perSecondMs) / 1000);
    b.at = now;
    this.balances.set(account, b);
    return b;
  }
}
