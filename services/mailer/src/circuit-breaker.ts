/**
 * Opens when the SMTP server cannot be reached, so the mailer stops taking records (and
 * burning attempts) instead of failing every email in a hot loop. Each consecutive failure
 * doubles the pause (from minMs up to maxMs); one success closes it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly now = () => Date.now(),
  ) {}

  /** Milliseconds until records may be tried again (0: closed). */
  get waitMs(): number {
    return Math.max(0, this.openUntil - this.now());
  }

  failure(): void {
    this.failures++;
    const pause = Math.min(this.maxMs, this.minMs * 2 ** (this.failures - 1));
    this.openUntil = Math.max(this.openUntil, this.now() + pause);
  }

  success(): void {
    this.failures = 0;
    this.openUntil = 0;
  }
}
