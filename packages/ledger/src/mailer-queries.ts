import type pg from 'pg';

/** Where the record being sent sits: the stuck-email audit reports it. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

export type Claim =
  | { kind: 'claimed'; attempts: number }
  /** Already final (sent or failed): a redelivery, to skip. */
  | { kind: 'final'; state: 'sent' | 'failed' }
  /** Another mailer holds a live claim (it is sending this email right now). */
  | { kind: 'busy'; expiresInMs: number };

/**
 * Claims an email for sending: creates its row if the API could not, or takes it from
 * queued/retrying, or from a claim that expired (its mailer died mid-send). A claim of our
 * own is taken again (a redelivery to the same process).
 */
export async function claim(
  db: pg.Pool,
  id: string,
  account: string,
  mailerId: string,
  ttlMs: number,
  position: KafkaPosition,
): Promise<Claim> {
  const claimed = await db.query<{ attempts: number }>(
    `insert into emails (id, account, state, claimed_by, claim_expires_at, kafka_topic, kafka_partition, kafka_offset)
     values ($1, $2, 'sending', $3, now() + $4 * interval '1 millisecond', $5, $6, $7)
     on conflict (id) do update
       set state = 'sending', claimed_by = $3, claim_expires_at = now() + $4 * interval '1 millisecond', updated_at = now(),
           kafka_topic = $5, kafka_partition = $6, kafka_offset = $7
       where emails.state in ('accepting', 'queued', 'retrying')
          or (emails.state = 'sending' and (emails.claim_expires_at < now() or emails.claimed_by = $3))
     returning attempts`,
    [id, account, mailerId, ttlMs, position.topic, position.partition, position.offset],
  );
  if (claimed.rows[0]) return { kind: 'claimed', attempts: claimed.rows[0].attempts };
  const { rows } = await db.query<{ state: string; expires_in_ms: number | null }>(
    `select state, greatest(0, extract(epoch from (claim_expires_at - now())) * 1000)::float8 as expires_in_ms from emails where id = $1`,
    [id],
  );
  const row = rows[0];
  if (row?.state === 'sent' || row?.state === 'failed') return { kind: 'final', state: row.state };
  return { kind: 'busy', expiresInMs: row?.expires_in_ms ?? 0 };
}

interface Outcome {
  smtpResponse?: string | null;
  lastError?: string | null;
  messageId?: string | null;
  /** The connection broke after the message was handed over: it may have been delivered. */
  uncertain?: boolean;
  /** For a retry: when it is due. */
  nextAttemptAt?: Date | null;
}

async function finish(db: pg.Pool, id: string, mailerId: string, state: 'sent' | 'retrying' | 'failed', o: Outcome): Promise<boolean> {
  const result = await db.query(
    `update emails set state = $3, attempts = attempts + 1, claimed_by = null, claim_expires_at = null,
       smtp_response = coalesce($4, smtp_response), last_error = $5, message_id = coalesce($6, message_id),
       uncertain = uncertain or $7, sent_at = case when $3 = 'sent' then now() else sent_at end, updated_at = now(),
       next_attempt_at = $8
     where id = $1 and claimed_by = $2`,
    [id, mailerId, state, o.smtpResponse ?? null, o.lastError ?? null, o.messageId ?? null, o.uncertain ?? false, o.nextAttemptAt ?? null],
  );
  // 0 rows: our claim expired and another mailer took the email over; it records its own outcome.
  return result.rowCount === 1;
}

export const recordSent = (db: pg.Pool, id: string, mailerId: string, o: Outcome) => finish(db, id, mailerId, 'sent', o);
export const recordRetrying = (db: pg.Pool, id: string, mailerId: string, o: Outcome) => finish(db, id, mailerId, 'retrying', o);
export const recordFailed = (db: pg.Pool, id: string, mailerId: string, o: Outcome) => finish(db, id, mailerId, 'failed', o);

/** Gives an email back untouched (nothing was sent: the SMTP server was unreachable). */
export async function releaseClaim(db: pg.Pool, id: string, mailerId: string): Promise<void> {
  await db.query(
    `update emails set state = case when attempts > 0 then 'retrying' else 'queued' end, claimed_by = null, claim_expires_at = null, updated_at = now()
     where id = $1 and claimed_by = $2 and state = 'sending'`,
    [id, mailerId],
  );
}
