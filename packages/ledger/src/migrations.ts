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
  {
    version: 4,
    name: 'recipients, events outbox, suppressions, webhooks',
    sql: `
      alter table emails drop constraint emails_state_check;
      alter table emails add constraint emails_state_check
        check (state in ('accepting', 'queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed'));
      drop index emails_purgeable_idx;
      create index emails_purgeable_idx on emails (updated_at) where state in ('sent', 'failed', 'suppressed', 'accepting');

      -- The outcome of each recipient, written with the email's state (one transaction).
      create table email_recipients (
        email_id      text not null references emails (id) on delete cascade,
        address       text not null,
        status        text not null check (status in ('pending', 'accepted', 'refused', 'suppressed')),
        smtp_response text,
        updated_at    timestamptz not null default now(),
        primary key (email_id, address)
      );

      -- The event log and the outbox in one: a state change inserts its events in the same
      -- transaction; the relay publishes the rows with no published_at, in seq order (until
      -- version 7 moved the outbox to a table of its own).
      create table email_events (
        seq          bigserial primary key,
        id           text not null unique,
        email_id     text not null references emails (id) on delete cascade,
        account      text not null,
        type         text not null,
        payload      jsonb not null,
        created_at   timestamptz not null default now(),
        published_at timestamptz
      );
      create index email_events_email_idx on email_events (email_id, seq);
      create index email_events_outbox_idx on email_events (seq) where published_at is null;

      create table suppressions (
        account       text not null,
        address       text not null,
        reason        text not null,
        email_id      text,
        smtp_response text,
        created_at    timestamptz not null default now(),
        primary key (account, address)
      );

      create table webhook_endpoints (
        id                         text primary key,
        account                    text not null,
        url                        text not null,
        events                     text[] not null,
        secret                     text not null,
        previous_secret            text,
        previous_secret_expires_at timestamptz,
        disabled_at                timestamptz,
        disabled_reason            text,
        created_at                 timestamptz not null default now()
      );
      create index webhook_endpoints_account_idx on webhook_endpoints (account);

      -- One row per (endpoint, event): the dispatcher's durable queue and the attempts' record.
      create table webhook_deliveries (
        endpoint_id      text not null references webhook_endpoints (id) on delete cascade,
        event_id         text not null,
        event_type       text not null,
        email_id         text not null,
        body             text not null,
        status           text not null check (status in ('pending', 'delivered', 'failed')),
        attempts         integer not null default 0,
        next_attempt_at  timestamptz,
        locked_until     timestamptz,
        last_status_code integer,
        last_latency_ms  integer,
        last_error       text,
        created_at       timestamptz not null default now(),
        updated_at       timestamptz not null default now(),
        primary key (endpoint_id, event_id)
      );
      create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
      create index webhook_deliveries_done_idx on webhook_deliveries (updated_at) where status <> 'pending';
    `,
  },
  {
    version: 5,
    name: 'scheduled sends, templates',
    sql: `
      alter table emails drop constraint emails_state_check;
      alter table emails add constraint emails_state_check
        check (state in ('accepting', 'scheduled', 'queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed', 'canceled'));
      alter table emails
        add column scheduled_at timestamptz,
        add column template_id text,
        add column template_version integer;
      -- The releaser's scan: due scheduled rows, oldest first; far-future rows are never read.
      create index emails_due_idx on emails (scheduled_at) where state = 'scheduled';
      drop index emails_purgeable_idx;
      create index emails_purgeable_idx on emails (updated_at) where state in ('sent', 'failed', 'suppressed', 'canceled', 'accepting');

      -- A scheduled email's record, parked by a mailer until it is due: then produced again as it was.
      create table scheduled_envelopes (
        email_id  text primary key references emails (id) on delete cascade,
        envelope  text not null,
        parked_at timestamptz not null default now()
      );

      create table templates (
        id                text primary key,
        account           text not null,
        name              text not null,
        latest_version    integer not null,
        published_version integer,
        created_at        timestamptz not null default now(),
        updated_at        timestamptz not null default now(),
        deleted_at        timestamptz
      );
      create unique index templates_name_idx on templates (account, name) where deleted_at is null;

      -- Versions are immutable once published; only the latest, unpublished one (the draft) is edited.
      create table template_versions (
        template_id  text not null references templates (id) on delete cascade,
        version      integer not null,
        subject      text not null,
        html         text,
        text         text,
        variables    jsonb not null,
        created_at   timestamptz not null default now(),
        published_at timestamptz,
        primary key (template_id, version)
      );
    `,
  },
  {
    version: 6,
    name: 'inbound reports kept for inspection',
    sql: `
      -- Bounce and complaint reports the listener could not use (unparseable, or about no email
      -- it can name), kept as received (capped) for an operator to read.
      create table inbound_reports (
        id          bigserial primary key,
        received_at timestamptz not null default now(),
        reason      text not null,
        mail_from   text not null,
        rcpt_to     text[] not null,
        raw         text not null
      );
      create index inbound_reports_received_idx on inbound_reports (received_at);
    `,
  },
  {
    version: 7,
    name: 'outbox apart from the event log',
    sql: `
      -- The outbox is the seqs of the events not published yet. Marking each published event
      -- (published_at) rewrote its whole row and its index entries: 27 % of the ledger's WAL in a
      -- mailer bench run (#17). A seq is queued here in the statement that writes its event (a
      -- trigger: no writer can forget it) and deleted once published. No foreign key: an event
      -- purged with its email leaves its seq behind, and the relay drops it unpublished.
      create table event_outbox (seq bigint primary key);
      insert into event_outbox (seq) select seq from email_events where published_at is null;
      drop index email_events_outbox_idx;
      -- A relay of the previous version still running fails its rounds instead of publishing
      -- every event again; its events reach the topic through this version's relay.
      alter table email_events drop column published_at;
      create function email_events_to_outbox() returns trigger language plpgsql as $$
        begin
          insert into event_outbox (seq) select seq from added;
          return null;
        end $$;
      create trigger email_events_outbox after insert on email_events
        referencing new table as added for each statement execute function email_events_to_outbox();
    `,
  },
  {
    version: 8,
    name: 'VERP key',
    sql: `
      -- The key of the per-recipient VERP tags (contracts' verpTag()): the mailers sign each
      -- recipient's Return-Path with it and the bounce listener checks a report against it. Made
      -- here, once, from Postgres' strong random source (gen_random_uuid: 122 random bits each),
      -- so every mailer and listener of a deployment shares it with no setting to distribute.
      create table verp_key (
        singleton boolean primary key default true check (singleton),
        key       text not null
      );
      insert into verp_key (key) values (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
    `,
  },
  {
    version: 9,
    name: 'due webhook deliveries by endpoint',
    sql: `
      -- The dispatcher takes each endpoint's oldest due deliveries (takeDue), and an endpoint that
      -- answers again has its backed-off ones brought forward (releaseBackoff): both read one
      -- endpoint's pending rows in next_attempt_at order. Without this, each poll read every due
      -- row of every endpoint, and with a backlog of 150,000 a dispatcher delivered 30 a second.
      create index webhook_deliveries_endpoint_due_idx on webhook_deliveries (endpoint_id, next_attempt_at) where status = 'pending';
    `,
  },
  {
    version: 10,
    name: 'attempts before a redrive; the last attempted record',
    sql: `
      -- A redrive (postline dlq redrive) gives an email a whole MAX_ATTEMPTS budget again while
      -- its attempts keep counting: the budget spent is attempts - redriven_attempts. It was read
      -- from attempts alone, so an email redriven after running out of attempts was dead-lettered
      -- again at its first 4xx. Kept in the ledger, not taken from the record's count: a stale
      -- record read again (after a crash, before its offset was committed) must not start a
      -- budget of its own. A column with a constant default rewrites no rows.
      alter table emails add column redriven_attempts integer not null default 0;
      -- Where the record of the last attempt made sits (topic/partition/offset), written with its
      -- outcome. A retrying email is claimed by its next record (on the retry topic), never by
      -- that one read again (after a crash or a paused partition, before its offset was
      -- committed): it would be sent before its backoff, and without the relay an uncertain
      -- attempt pinned it to. Null (rows of earlier versions) lets any record claim, as before.
      alter table emails add column attempted_position text;
    `,
  },
  {
    version: 11,
    name: 'retry records parked until due',
    sql: `
      -- A retry record due later is parked here and its offset committed, so it no longer holds
      -- its retry partition: a 30-minute backoff at a partition's head delayed the 30 s retries
      -- behind it by up to 30 minutes. Released (appended to its topic again, as it was) when due.
      -- Keyed by where the record sits, so one read again is parked once; a released row keeps
      -- that key (record and headers cleared) until the retention purge, so a record read again
      -- after its release (its offset not yet committed) is not parked and released a second time.
      create table parked_retries (
        position text primary key,
        topic text not null,
        email_id text not null,
        due_at timestamptz not null,
        record text,
        headers jsonb,
        released_at timestamptz
      );
      create index parked_retries_due_idx on parked_retries (due_at) where released_at is null;
      create index parked_retries_released_idx on parked_retries (released_at) where released_at is not null;
    `,
  },
  {
    version: 12,
    name: 'emails listed by account, newest first',
    sql: `
      -- GET /v1/emails (and Resend's emails.list) pages through an account's emails newest
      -- first by a keyset on (created_at, id): a page reads its own rows, whatever the ledger holds
      -- (list-queries.ts: why the id is not in the index).
      create index emails_account_created_idx on emails (account, created_at);
    `,
  },
];
