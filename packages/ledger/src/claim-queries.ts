import { type EmailEvent, webhookBody } from '@postline/contracts';
import { prepared } from './prepared.js';
import type { Queryable } from './transaction.js';

/** Where the record being sent sits: the stuck-email audit reports it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * A record's position as one text, `topic/partition/offset`: how `emails.attempted_position` and
 * `parked_retries.position` name a record. The claim and outcome statements build the same text
 * from the row's columns.
 */
export const positionKey = ({ topic, partition, offset }: KafkaPosition): string => `${topic}/${partition}/${offset}`;

export type Claim =
  /**
   * `suppressed`: which of the recipients asked about are on the account's suppression list now.
   * `settled`: the recipients an earlier attempt already settled (accepted, or refused with a 5xx),
   * lower-case: a retry goes to the others only. `delivered`: an earlier attempt had one accepted.
   */
  | {
      kind: 'claimed';
      /** Attempts so far, all of them (the status's count). */
      attempts: number;
      /** Attempts since it was accepted or last redriven: what MAX_ATTEMPTS bounds. */
      tries: number;
      suppressed: string[];
      settled: string[];
      delivered: boolean;
    }
  /** Already final (sent, failed, suppressed or canceled): a redelivery, to skip. */
  | { kind: 'final'; state: 'sent' | 'failed' | 'suppressed' | 'canceled' }
  /** Scheduled for later (a reschedule moved it after its record was produced): park it. */
  | { kind: 'scheduled'; scheduledAt: string }
  /** Another mailer holds a live claim (it is sending this email right now). */
  | { kind: 'busy'; expiresInMs: number }
  /** Retrying, and this record's attempt was made (it was read again): its retry record is the one to send. */
  | { kind: 'attempted' };

/** One email to claim: its record's position, its `queued` event, and the recipients to check against the suppression list. */
export interface ClaimRequest {
  id: string;
  account: string;
  position: KafkaPosition;
  queued: EmailEvent;
  recipients: string[];
}

const claimStatement = prepared(
  'claim-many',
  `with input as (
       select * from unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::text[], $9::jsonb[], $10::jsonb[])
         as i(id, account, topic, part, off, event_id, event, recipients)
     ), claimed as (
       insert into emails (id, account, state, claimed_by, claim_expires_at, kafka_topic, kafka_partition, kafka_offset)
       select id, account, 'sending', $1, now() + $2 * interval '1 millisecond', topic, part, off from input
       on conflict (id) do update
         set state = 'sending', claimed_by = $1, claim_expires_at = now() + $2 * interval '1 millisecond', updated_at = now(),
             kafka_topic = excluded.kafka_topic, kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset
         where emails.state in ('accepting', 'queued')
            -- Not by the record whose attempt made it retrying, read again (migration 10).
            or (emails.state = 'retrying' and emails.attempted_position is distinct from
                  excluded.kafka_topic || '/' || excluded.kafka_partition || '/' || excluded.kafka_offset)
            or (emails.state = 'scheduled' and emails.scheduled_at <= now())
            or (emails.state = 'sending' and (emails.claim_expires_at < now() or emails.claimed_by = $1))
       returning id, attempts, attempts - redriven_attempts as tries
     ), queued as (
       insert into email_events (id, email_id, account, type, payload)
       select i.event_id, i.id, i.account, 'email.queued', i.event from input i join claimed c using (id)
       on conflict (id) do nothing
     )
     select c.id, c.attempts, c.tries,
            array(select s.address from suppressions s
                   where s.account = i.account and s.address in (select jsonb_array_elements_text(i.recipients))) as suppressed,
            -- A first attempt has no recipient outcomes: CASE skips the look (the common case).
            case when c.attempts = 0 then '{}'::text[]
                 else array(select lower(r.address) from email_recipients r
                             where r.email_id = c.id and r.status in ('accepted', 'refused')) end as settled,
            case when c.attempts = 0 then false
                 else exists(select 1 from email_recipients r where r.email_id = c.id and r.status = 'accepted') end as delivered
       from claimed c join input i using (id)`,
);

/**
 * Claims emails for sending: creates each one's row if the API could not, or takes it from
 * queued/retrying or a due scheduled state, or from a claim that expired (its mailer died
 * mid-send). A claim of our own is taken again (a redelivery to the same process).
 *
 * One statement claims them all, writes each claimed email's `queued` event if no one has (the API
 * writes it when its row insert after the ack succeeds) and reads which of its recipients are
 * suppressed; only emails not claimed cost a second look. Each email is claimed or not on its own
 * terms, exactly as if it were alone: the statement is only the round trip (and the commit) they
 * share. The ids must be distinct.
 */
export async function claimMany(db: Queryable, mailerId: string, ttlMs: number, requests: ClaimRequest[]): Promise<Claim[]> {
  const { rows } = await db.query<{
    id: string;
    attempts: number;
    tries: number;
    suppressed: string[];
    settled: string[];
    delivered: boolean;
  }>(
    claimStatement([
      mailerId,
      ttlMs,
      requests.map((r) => r.id),
      requests.map((r) => r.account),
      requests.map((r) => r.position.topic),
      requests.map((r) => r.position.partition),
      requests.map((r) => r.position.offset),
      requests.map((r) => r.queued.id),
      requests.map((r) => webhookBody(r.queued)),
      requests.map((r) => JSON.stringify(r.recipients)),
    ]),
  );
  const claimed = new Map(rows.map((row) => [row.id, row]));
  const others = requests.filter((r) => !claimed.has(r.id)).map((r) => r.id);
  const current = others.length > 0 ? await currentStates(db, others) : new Map();
  return requests.map((r): Claim => {
    const row = claimed.get(r.id);
    if (row) {
      const { attempts, tries, suppressed, settled, delivered } = row;
      return { kind: 'claimed', attempts, tries, suppressed, settled, delivered };
    }
    const now = current.get(r.id);
    const state = now?.state;
    if (state === 'sent' || state === 'failed' || state === 'suppressed' || state === 'canceled') return { kind: 'final', state };
    if (state === 'scheduled' && now?.scheduled_at) return { kind: 'scheduled', scheduledAt: now.scheduled_at.toISOString() };
    if (state === 'retrying' && now?.attempted_position === positionKey(r.position)) return { kind: 'attempted' };
    return { kind: 'busy', expiresInMs: now?.expires_in_ms ?? 0 };
  });
}

/** Gives an email back untouched (nothing was sent: the SMTP server was unreachable). */
export async function releaseClaim(db: Queryable, id: string, mailerId: string): Promise<void> {
  await db.query(
    `update emails set state = case when attempts > redriven_attempts then 'retrying' else 'queued' end, claimed_by = null, claim_expires_at = null, updated_at = now()
     where id = $1 and claimed_by = $2 and state = 'sending'`,
    [id, mailerId],
  );
}

const currentStatesStatement = prepared(
  'current-states',
  `select id, state, greatest(0, extract(epoch from (claim_expires_at - now())) * 1000)::float8 as expires_in_ms, scheduled_at,
            attempted_position
       from emails where id = any($1::text[])`,
);

async function currentStates(db: Queryable, ids: string[]) {
  const { rows } = await db.query<{
    id: string;
    state: string;
    expires_in_ms: number | null;
    scheduled_at: Date | null;
    attempted_position: string | null;
  }>(currentStatesStatement([ids]));
  return new Map(rows.map((row) => [row.id, row]));
}
