import type { FastifyRequest } from 'fastify';
import { LedgerUnavailableError, NotFoundError } from './errors.js';

/**
 * The ledger's answer, or the coded 503 when Postgres is unreachable (every route answers this
 * way). Our own 4xx, thrown by a check inside the query (a template that does not parse), pass.
 */
export async function fromLedger<T>(request: Pick<FastifyRequest, 'log'>, query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status < 500) throw error;
    request.log.warn({ err: error }, 'ledger unavailable');
    throw new LedgerUnavailableError();
  }
}

/** The value, or a 404 when there is none (unknown, or another API key's). */
export function found<T>(value: T | null | false): T {
  if (!value) throw new NotFoundError();
  return value;
}
