import type { Queryable } from './transaction.js';

/** The deployment's VERP key (migration 8), as the bytes contracts' verpTag() signs with. */
export async function verpKey(db: Queryable): Promise<Buffer> {
  const { rows } = await db.query<{ key: string }>('select key from verp_key');
  const key = rows[0]?.key;
  if (!key) throw new Error('the ledger has no VERP key (migration 8 not applied)');
  return Buffer.from(key, 'utf8');
}
