import type pg from 'pg';

/**
 * Before a dead-lettered email is put back on the requests topic: a `failed` email becomes
 * `queued` again, so a mailer may claim it. Nothing else changes state: a `sent` (or
 * suppressed, canceled) email stays final, and its redriven record is skipped by the claim.
 * The attempts counter keeps counting, and the budget starts again (redriven_attempts marks
 * where). Its refused recipients are pending again: a retry skips those an earlier attempt
 * settled, and a redrive is the operator's word to try them all (a failed email had none
 * accepted; the suppression list still keeps out its hard bounces). Returns each id's state after
 * (absent: no row, e.g. purged).
 */
export async function reopenFailed(db: pg.Pool, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; state: string }>(
    `with reopened as (
       update emails set state = 'queued', last_error = null, next_attempt_at = null, redriven_attempts = attempts, updated_at = now()
        where id = any($1::text[]) and state = 'failed'
       returning id
     ), recipients as (
       update email_recipients set status = 'pending', updated_at = now()
        where email_id in (select id from reopened) and status = 'refused'
     )
     select e.id, case when r.id is not null then 'queued' else e.state end as state
       from emails e left join reopened r on r.id = e.id
      where e.id = any($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.state]));
}
