import { LedgerUnavailableError, NotFoundError } from './errors.js';

/**
 * The ledger's answer, or the coded 503 when Postgres is unreachable (every route answers this
 * way), with Postgres' error as its cause: whoever answers the 503 logs it (the problem handler,
 * SMTP submission). Our own 4xx, thrown by a check inside the query (a template that does not
 * parse), pass.
 */
export async function fromLedger<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status < 500) throw error;
    throw new LedgerUnavailableError({ cause: error });
  }
}

/** The value, or a 404 when there is none (unknown, or another API key's). */
export function found<T>(value: T | null | false): T {
  if (!value) throw new NotFoundError();
  return value;
}
