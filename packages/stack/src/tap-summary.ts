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

/** How many `not ok` lines a run keeps for the closing list; the full log has the rest. */
export const FAILED_LINES_KEPT = 40;

/**
 * Collects tap's `not ok` lines from its output as it streams, so the run can end by naming
 * what failed. CI often shows only a log's tail, and a failure in the first phase is thousands
 * of lines above it. Lines keep their indentation (the subtest's depth) and are cut at 200 chars.
 */
export class FailedLines {
  private partial = '';
  private readonly kept: string[] = [];
  private dropped = 0;

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.take(line);
  }

  /** The kept lines, the last partial line included, and a count of any left out. */
  lines(): string[] {
    if (this.partial) this.take(this.partial);
    this.partial = '';
    return this.dropped ? [...this.kept, `… and ${this.dropped} more`] : [...this.kept];
  }

  private take(line: string): void {
    if (!/^\s*not ok \d+/.test(line)) return;
    if (this.kept.length < FAILED_LINES_KEPT) this.kept.push(line.trimEnd().slice(0, 200));
    else this.dropped++;
  }
}
