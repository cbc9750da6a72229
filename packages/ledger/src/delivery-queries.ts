import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';

export interface NewDelivery {
  endpointId: string;
  eventId: string;
  eventType: string;
  emailId: string;
  body: string;
}

/** Queues deliveries (one per endpoint and event); a redelivered event queues nothing twice. */
export async function enqueueDeliveries(db: pg.Pool, deliveries: NewDelivery[]): Promise<number> {
  if (deliveries.length === 0) return 0;
  const { rowCount } = await db.query(
    `insert into webhook_deliveries (endpoint_id, event_id, event_type, email_id, body, status, next_attempt_at)
     select e, v, t, m, b, 'pending', now() from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as x(e, v, t, m, b)
     where exists (select 1 from webhook_endpoints w where w.id = x.e)
     on conflict (endpoint_id, event_id) do nothing`,
    [
      deliveries.map((d) => d.endpointId),
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.eventType),
      deliveries.map((d) => d.emailId),
      deliveries.map((d) => d.body),
    ],
  );
  return rowCount ?? 0;
}

export interface DueDelivery {
  endpointId: string;
  eventId: string;
  body: string;
  attempts: number;
}

/**
 * Takes up to `limit` due deliveries for this worker (a lease of `leaseMs`), at most `perEndpoint`
 * of any one endpoint and none of `busy` endpoints (those already at their limit here), so one
 * endpoint's backlog never fills the worker. Several dispatchers share the table safely: the
 * lease is set under the row lock.
 */
export async function takeDue(
  db: pg.Pool,
  options: { limit: number; perEndpoint: number; busy: string[]; leaseMs: number },
): Promise<DueDelivery[]> {
  const { rows } = await db.query<{ endpoint_id: string; event_id: string; body: string; attempts: number }>(
    // Each endpoint's oldest due rows, read by its index (migration 9): the work is the endpoints
    // and the rows taken, whatever the backlog. Every delivery belongs to an endpoint (a deleted
    // one takes its deliveries with it); a disabled one's are taken too, and failed by the dispatcher.
    `with due as (
       select d.endpoint_id, d.event_id
         from webhook_endpoints w
         cross join lateral (
           select endpoint_id, event_id, next_attempt_at from webhook_deliveries
            where endpoint_id = w.id and status = 'pending' and next_attempt_at <= now()
              and (locked_until is null or locked_until < now())
            order by next_attempt_at ${sqlLimit(options.perEndpoint)}
         ) d
        where w.id <> all($1::text[])
        order by d.next_attempt_at ${sqlLimit(options.limit)}
     )
     update webhook_deliveries d set locked_until = now() + $2 * interval '1 millisecond'
       from due where d.endpoint_id = due.endpoint_id and d.event_id = due.event_id
        and d.status = 'pending' and (d.locked_until is null or d.locked_until < now())
     returning d.endpoint_id, d.event_id, d.body, d.attempts`,
    [options.busy, options.leaseMs],
  );
  return rows.map((r) => ({ endpointId: r.endpoint_id, eventId: r.event_id, body: r.body, attempts: r.attempts }));
}

export interface AttemptResult {
  endpointId: string;
  eventId: string;
  delivered: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** When to try again; null with delivered=false: give up (failed). */
  nextAttemptAt: Date | null;
}

/** Records one attempt. A delivery to an endpoint that answered brings its backed-off deliveries forward. */
export async function recordAttempt(db: pg.Pool, r: AttemptResult): Promise<void> {
  const status = r.delivered ? 'delivered' : r.nextAttemptAt ? 'pending' : 'failed';
  await db.query(
    `update webhook_deliveries set status = $3, attempts = attempts + 1, locked_until = null, next_attempt_at = $4,
       last_status_code = $5, last_latency_ms = $6, last_error = $7, updated_at = now()
     where endpoint_id = $1 and event_id = $2 and status = 'pending'`,
    [r.endpointId, r.eventId, status, r.nextAttemptAt, r.statusCode, Math.round(r.latencyMs), r.error],
  );
}

/**
 * The endpoint is back: what waits in back-off for it is due now, instead of hours later. The
 * retry schedule protects a receiver that is down; one that answers 2xx is not.
 */
export async function releaseBackoff(db: pg.Pool, endpointId: string): Promise<number> {
  const { rowCount } = await db.query(
    `update webhook_deliveries set next_attempt_at = now()
      where endpoint_id = $1 and status = 'pending' and next_attempt_at > now() and locked_until is null`,
    [endpointId],
  );
  return rowCount ?? 0;
}

export interface DeliveryView {
  eventId: string;
  eventType: string;
  emailId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The newest deliveries of one of the account's endpoints, optionally of one email (null: no such endpoint). */
export async function listDeliveries(
  db: pg.Pool,
  account: string,
  endpointId: string,
  limit: number,
  emailId?: string,
): Promise<DeliveryView[] | null> {
  const owner = await db.query('select 1 from webhook_endpoints where id = $1 and account = $2', [endpointId, account]);
  if (owner.rowCount !== 1) return null;
  const { rows } = await db.query<{
    event_id: string;
    event_type: string;
    email_id: string;
    status: DeliveryView['status'];
    attempts: number;
    last_status_code: number | null;
    last_latency_ms: number | null;
    last_error: string | null;
    next_attempt_at: Date | null;
    created_at: Date;
    updated_at: Date;
  }>(
    `select event_id, event_type, email_id, status, attempts, last_status_code, last_latency_ms, last_error, next_attempt_at, created_at, updated_at
       from webhook_deliveries where endpoint_id = $1 and ($2::text is null or email_id = $2)
      order by created_at desc ${sqlLimit(limit)}`,
    [endpointId, emailId ?? null],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    eventType: r.event_type,
    emailId: r.email_id,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastLatencyMs: r.last_latency_ms,
    lastError: r.last_error,
    nextAttemptAt: r.status === 'pending' ? (r.next_attempt_at?.toISOString() ?? null) : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

/** Pending deliveries (the dispatcher's backlog gauge). */
export async function pendingDeliveries(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`select count(*) as n from webhook_deliveries where status = 'pending'`);
  return Number(rows[0]?.n ?? 0);
}
