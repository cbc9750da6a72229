/**
 * Delays before each retry of a delivery: 11 attempts over about 27 hours, so a receiver that is
 * down for a day still gets everything. Early retries are close together (most outages are
 * short); a receiver that answers 2xx again has its backlog brought forward at once
 * (releaseBackoff), so the long tail only ever waits on receivers that are still failing.
 */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000];

/** When attempt `attempts` (1-based, just failed) is retried; null: that was the last one. */
export function nextAttemptAt(attempts: number, now = Date.now()): Date | null {
  const base = RETRY_DELAYS_MS[attempts - 1];
  if (base === undefined) return null;
  // ±10 % jitter: deliveries that failed together do not all return together.
  return new Date(now + base * (0.9 + Math.random() * 0.2));
}
