/**
 * Versioned, append-only. Never edit a migration that has shipped; add the next one.
 * `state` also has the internal value 'accepting': the API reserved the id (idempotency)
 * but Kafka has not acknowledged the record yet. Such rows are invisible to the status API.
 */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'emails ledger',
    sql: `
      create table emails (
        id               text primary key,
        account          text not null,
        state            text not null check (state in ('accepting', 'queued', 'sending', 'sent', 'retrying', 'failed')),
        request_hash     text,
        attempts         integer not null default 0,
        uncertain        boolean not null default false,
        claimed_by       text,
        claim_expires_at timestamptz,
        last_error       text,
        smtp_response    text,
        message_id       text,
        created_at       timestamptz not null default now(),
        updated_at       timestamptz not null default now(),
        sent_at          timestamptz
      );
      create index emails_updated_at_idx on emails (updated_at);
    `,
  },
  {
    version: 2,
    name: 'kafka position, next attempt, unfinished index',
    sql: `
      alter table emails
        add column kafka_topic text,
        add column kafka_partition integer,
        add column kafka_offset bigint,
        add column next_attempt_at timestamptz;
      -- The stuck-email audit and its metrics look only at unfinished rows.
      create index emails_unfinished_idx on emails (created_at) where state in ('queued', 'sending', 'retrying');
      -- Periodic jobs that one mailer of many should run per period (turns.ts).
      create table job_turns (name text primary key, last_run_at timestamptz not null);
    `,
  },
  {
    version: 3,
    name: 'retention index',
    sql: `
      -- The retention purge reads only rows it may delete, oldest first (retention.ts).
      create index emails_purgeable_idx on emails (updated_at) where state in ('sent', 'failed', 'accepting');
    `,
  },
];
