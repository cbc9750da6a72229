import { maskUrl } from '@postline/runtime';
import pg from 'pg';
import { StackError } from './stack-error.js';

/** A given DATABASE_URL must answer; say so in one sentence instead of failing later in a service. */
export async function checkPostgresReachable(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    const safe = maskUrl(url);
    throw new StackError(
      `DATABASE_URL (${safe}) is not reachable: ${(error as Error).message || (error as { code?: string }).code}; start that database or unset DATABASE_URL to use the embedded one.`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
