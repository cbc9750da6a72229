import type pg from 'pg';

/**
 * Whether this caller gets the turn to run job `name` now: true for exactly one caller per
 * `everyMs`, however many mailers ask. A row per job instead of an advisory lock, because a
 * lock only keeps two runs apart — every mailer would still take its own turn each period.
 */
export async function takeTurn(db: pg.Pool, name: string, everyMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into job_turns (name, last_run_at) values ($1, now())
     on conflict (name) do update set last_run_at = now()
       where job_turns.last_run_at <= now() - $2 * interval '1 millisecond'
     returning name`,
    [name, everyMs * 0.9],
  );
  return rowCount === 1;
}
