import { createRequire } from 'node:module';
import type pg from 'pg';

// pg's own conversion of a bound value to its text form (arrays to '{...}'), for EXECUTE's literals.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue(v: unknown): unknown };

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/**
 * The plan `pool`'s session runs for `text` with `values`, executed under EXPLAIN ANALYZE and
 * rolled back. The services' pools plan every statement generically (createLedgerPool), and a
 * generic plan does not know the values; an `explain` of the text with bound values shows a plan
 * made for those values instead. So the statement is prepared and executed, as the session would.
 * `before`: what the code ran earlier in the same transaction (a `set local`), run first.
 */
export async function sessionPlan(
  pool: pg.Pool,
  text: string,
  values: unknown[] = [],
  before: { text: string; values?: unknown[] }[] = [],
): Promise<{ mode: string; plan: PlanNode }> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    for (const s of before) await client.query(s.text, s.values);
    const mode = (await client.query<{ plan_cache_mode: string }>('show plan_cache_mode')).rows[0]!.plan_cache_mode;
    await client.query(`prepare session_plan as ${text}`);
    // EXECUTE under EXPLAIN takes literals, not bound parameters.
    const args = values.map((v) => {
      const value = prepareValue(v);
      return value === null ? 'null' : client.escapeLiteral(String(value));
    });
    const execute = args.length > 0 ? `execute session_plan(${args.join(', ')})` : 'execute session_plan';
    const { rows } = await client.query(`explain (analyze, format json) ${execute}`);
    return { mode, plan: rows[0]['QUERY PLAN'][0].Plan };
  } finally {
    await client.query('rollback').catch(() => {});
    await client.query('deallocate session_plan').catch(() => {});
    client.release();
  }
}

/** Rows the plan's scans of `table` returned, over all their loops. */
export function rowsRead(node: PlanNode, table: string): number {
  // Scans only: an Update node names the table too, and counts the rows it changed.
  const scan = node['Relation Name'] === table && node['Node Type'].endsWith('Scan');
  const own = scan ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + rowsRead(p, table), 0);
}

/** Every scan in the plan, as "Seq Scan on email_events". */
export function scans(node: PlanNode): string[] {
  const own = node['Node Type'].endsWith('Scan') && node['Relation Name'] ? [`${node['Node Type']} on ${node['Relation Name']}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}
