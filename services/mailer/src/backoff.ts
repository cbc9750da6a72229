/**
 * Delay before retry n (n ≥ 1): base · 2^(n-1), capped at max, with ±20 % jitter so that emails
 * that failed together do not all come back together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}
