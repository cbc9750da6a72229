-- A large ledger for bench/plan-sweep.mjs: the shapes a busy deployment has (a million emails, 90 % sent, 2 % scheduled;
-- two events each; 500,000 webhook deliveries, a tenth pending; an outbox a backlog has grown and that has 1,001 rows left).
insert into emails (id, account, state, attempts, created_at, updated_at, sent_at, kafka_topic, kafka_partition, kafka_offset, message_id, scheduled_at, claimed_by, claim_expires_at, next_attempt_at)
select 'em_' || i,
       'acct_' || (i % 50),
       case when i % 100 < 90 then 'sent' when i % 100 < 93 then 'failed' when i % 100 < 94 then 'queued'
            when i % 100 < 95 then 'retrying' when i % 100 < 96 then 'sending' when i % 100 < 98 then 'scheduled'
            when i % 100 < 99 then 'suppressed' else 'canceled' end,
       1, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval,
       'emails', i % 12, i, '<' || i || '@m.example>',
       case when i % 100 between 96 and 97 then now() + ((i % 1000) || ' minutes')::interval end,
       'mailer-x', now() - interval '1 minute', now() + interval '1 minute'
from generate_series(1, 1000000) i;
insert into email_recipients (email_id, address, status) select 'em_' || i, 'r' || i || '@x.example', 'accepted' from generate_series(1, 1000000) i;
insert into email_events (id, email_id, account, type, payload, created_at)
select 'evt_' || i || '_' || k, 'em_' || i, 'acct_' || (i % 50), case k when 0 then 'email.queued' else 'email.sent' end, '{}', now() - (i || ' seconds')::interval
from generate_series(1, 1000000) i, generate_series(0, 1) k;
delete from event_outbox where seq < (select max(seq) - 1000 from email_events);
insert into suppressions (account, address, reason) select 'acct_' || (i % 50), 's' || i || '@x.example', 'bounce' from generate_series(1, 100000) i;
insert into webhook_endpoints (id, account, url, events, secret) select 'we_' || i, 'acct_' || (i % 50), 'http://x/' || i, '{email.sent}', 's' from generate_series(1, 100) i;
insert into webhook_deliveries (endpoint_id, event_id, event_type, email_id, body, status, next_attempt_at, created_at, updated_at)
select 'we_' || (1 + i % 100), 'evt_' || i || '_1', 'email.sent', 'em_' || i, '{}', case when i % 10 = 0 then 'pending' else 'delivered' end,
       case when i % 10 = 0 then now() + ((i % 600) || ' seconds')::interval end, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
from generate_series(1, 500000) i;
insert into templates (id, account, name, latest_version, published_version) select 'tpl_' || i, 'acct_' || (i % 50), 'name_' || i, 2, 1 from generate_series(1, 10000) i;
insert into template_versions (template_id, version, subject, variables) select 'tpl_' || i, v, 's', '[]' from generate_series(1, 10000) i, generate_series(1, 2) v;
insert into scheduled_envelopes (email_id, envelope) select id, '{}' from emails where state = 'scheduled';
insert into inbound_reports (reason, mail_from, rcpt_to, raw, received_at) select 'unparsable', 'a@x', '{b@x}', 'x', now() - (i || ' seconds')::interval from generate_series(1, 50000) i;
