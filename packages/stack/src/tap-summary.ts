export interface TapSummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
}

/** Reads tap's closing `# { total: N, pass: P, fail: F, skip: S, … }` line. */
export function summarise(output: string): TapSummary | null {
  const lines = output.trimEnd().split('\n').reverse();
  const line = lines.find((l) => /^# \{ total: \d+/.test(l));
  if (!line) return null;
  const count = (key: string) => Number(new RegExp(`\\b${key}: (\\d+)`).exec(line)?.[1] ?? 0);
  const total = count('total');
  const passed = count('pass');
  const skipped = count('skip') + count('todo');
  // Everything that neither passed nor was skipped counts as a failure: `fail` alone would
  // miss assertions tap files under other keys.
  const failed = Math.max(count('fail'), total - passed - skipped);
  return { total, passed, failed, skipped };
}
