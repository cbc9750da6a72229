import { MIGRATIONS } from './migrations.js';
import type { Queryable } from './transaction.js';

/** Every table the migrations create, read from their text so that a new one is never left out. */
export const LEDGER_TABLES: readonly string[] = [
  'schema_migrations',
  ...MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/\bcreate table (?:if not exists )?([a-z_][a-z0-9_]*)/gi)].map((match) => match[1]!)),
];

/**
 * What DATABASE_URL's user lacks of what the services do to the ledger: reading and writing every
 * table (a purge deletes, a claim inserts and updates) and drawing from every sequence. Said at
 * boot, in one sentence, instead of as a "permission denied" on the first email of that table.
 */
export async function missingGrants(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ missing: string }>(
    `with ledger as (select to_regclass(name) as t from unnest($1::text[]) as name)
     select format('%s on table %s', 'select, insert, update, delete', t::text) as missing from ledger
       -- Each privilege on its own: with a list, has_table_privilege is true if any one is held.
       where t is not null and not (has_table_privilege(t, 'select') and has_table_privilege(t, 'insert')
                                    and has_table_privilege(t, 'update') and has_table_privilege(t, 'delete'))
     union all
     select format('usage on sequence %s', s) from ledger
       cross join lateral (select pg_get_serial_sequence(t::text, a.attname) as s from pg_attribute a
                           where a.attrelid = t and a.attnum > 0 and not a.attisdropped) serial
       where t is not null and s is not null and not has_sequence_privilege(s, 'usage')`,
    [LEDGER_TABLES],
  );
  return rows.map((r) => r.missing);
}
