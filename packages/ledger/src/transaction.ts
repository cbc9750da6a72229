import type pg from 'pg';

/** A pool or a client in a transaction: what a statement that may run in either takes. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * Runs `work` in one transaction on a client of its own: commit if it resolves, roll back if
 * it throws. While the client is checked out, a connection error that arrives between queries
 * (Postgres stopped while `work` awaits something else, e.g. a Kafka produce) is an 'error'
 * event on the client, which nothing else listens to: it would crash the process. It is
 * swallowed here (the next query fails instead) and the broken client is discarded.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    // Whatever failed, this connection is not trusted again (a rare path: a new one is cheap).
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}

/**
 * Serialises, until the transaction ends, the writes of one account to one kind of thing (its
 * webhook endpoints, its templates), so a limit counted in the same transaction holds under
 * concurrent requests. Two accounts may share a lock by a hash collision: they only wait.
 */
export async function lockAccount(client: pg.PoolClient, what: string, account: string): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`${what}:${account}`]);
}
