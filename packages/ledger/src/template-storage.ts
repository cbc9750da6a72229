import type pg from 'pg';
import type { TemplateContent } from './template-queries.js';
import { lockAccount } from './transaction.js';

/** How many bytes of template versions an account may store, and the error that refuses more. */
export interface StorageLimit {
  bytes: number;
  refuse: (stored: number) => Error;
}

/**
 * What a version costs besides its source: its row, its index entries, its line in the template's
 * list of versions. Without it, a loop of one-byte edits and publishes made millions of versions
 * within the limit, and reading the template listed them all.
 */
export const VERSION_OVERHEAD_BYTES = 4096;

/** UTF-8 bytes of a version's source, as Postgres' octet_length counts them. */
export function contentBytes(c: Pick<TemplateContent, 'subject' | 'html' | 'text'>): number {
  return (
    Buffer.byteLength(c.subject) + (c.html === null ? 0 : Buffer.byteLength(c.html)) + (c.text === null ? 0 : Buffer.byteLength(c.text))
  );
}

/**
 * Throws `limit.refuse` unless `account`'s versions (each its source and VERSION_OVERHEAD_BYTES),
 * with `adding` bytes more and `replacing` fewer, stay within `limit.bytes`. Takes the account's
 * template lock first, so that two writes at once cannot both fit in the room left for one.
 * Every version is kept (a published one stays addressable), so without a limit a loop of
 * edit-and-publish grew the ledger without end.
 */
export async function makeRoom(client: pg.PoolClient, account: string, limit: StorageLimit, adding: number, replacing = 0): Promise<void> {
  await lockAccount(client, 'templates', account);
  const { rows } = await client.query<{ bytes: string }>(
    `select coalesce(sum(octet_length(v.subject) + coalesce(octet_length(v.html), 0) + coalesce(octet_length(v.text), 0) + $2), 0) as bytes
       from template_versions v join templates t on t.id = v.template_id
      where t.account = $1`,
    [account, VERSION_OVERHEAD_BYTES],
  );
  const stored = Number(rows[0]?.bytes ?? 0);
  if (stored - replacing + adding > limit.bytes) throw limit.refuse(stored);
}
