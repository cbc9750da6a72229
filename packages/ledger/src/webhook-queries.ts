import type pg from 'pg';
import { inTransaction, lockAccount } from './transaction.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
}

/** What the dispatcher needs to deliver: the endpoint and the secrets it signs with. */
export interface EndpointSecrets {
  id: string;
  account: string;
  url: string;
  events: string[];
  secrets: string[];
}

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  created_at: Date;
  disabled_at: Date | null;
  disabled_reason: string | null;
}

const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  events: r.events,
  createdAt: r.created_at.toISOString(),
  disabledAt: r.disabled_at?.toISOString() ?? null,
  disabledReason: r.disabled_reason,
});

const ENDPOINT_COLUMNS = 'id, url, events, created_at, disabled_at, disabled_reason';

/**
 * Creates an endpoint unless `account` has `max` already (null then). Every event of an account
 * is delivered to each of its endpoints, so their number is what one email's events multiply by.
 */
export async function createEndpoint(
  db: pg.Pool,
  e: { id: string; account: string; url: string; events: string[]; secret: string },
  max: number,
): Promise<WebhookEndpoint | null> {
  return inTransaction(db, async (client) => {
    // One creation at a time an account, so two at once cannot both pass the count.
    await lockAccount(client, 'webhook_endpoints', e.account);
    const { rows } = await client.query<EndpointRow>(
      `insert into webhook_endpoints (id, account, url, events, secret)
       select $1, $2, $3, $4, $5 where (select count(*) from webhook_endpoints where account = $2) < $6
       returning ${ENDPOINT_COLUMNS}`,
      [e.id, e.account, e.url, e.events, e.secret, max],
    );
    return rows[0] ? toEndpoint(rows[0]) : null;
  });
}

export async function listEndpoints(db: pg.Pool, account: string): Promise<WebhookEndpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `select ${ENDPOINT_COLUMNS} from webhook_endpoints where account = $1 order by created_at, id`,
    [account],
  );
  return rows.map(toEndpoint);
}

export async function getEndpoint(db: pg.Pool, account: string, id: string): Promise<WebhookEndpoint | null> {
  const { rows } = await db.query<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where account = $1 and id = $2`, [
    account,
    id,
  ]);
  return rows[0] ? toEndpoint(rows[0]) : null;
}

/** Deletes the endpoint and its deliveries (pending ones are never attempted). */
export async function deleteEndpoint(db: pg.Pool, account: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from webhook_endpoints where account = $1 and id = $2', [account, id]);
  return rowCount === 1;
}

/**
 * A new secret. The old one stays valid for `overlapMs`: deliveries carry a signature with each
 * (the Standard Webhooks header holds several), so a receiver can switch without losing any.
 */
export async function rotateSecret(db: pg.Pool, account: string, id: string, secret: string, overlapMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update webhook_endpoints set previous_secret = secret, secret = $3,
       previous_secret_expires_at = now() + $4 * interval '1 millisecond'
     where account = $1 and id = $2`,
    [account, id, secret, overlapMs],
  );
  return rowCount === 1;
}

/** Every enabled endpoint, with the secrets valid now (the dispatcher caches this briefly). */
export async function enabledEndpoints(db: pg.Pool): Promise<EndpointSecrets[]> {
  const { rows } = await db.query<{ id: string; account: string; url: string; events: string[]; secrets: string[] }>(
    `select id, account, url, events,
            array_remove(array[secret, case when previous_secret_expires_at > now() then previous_secret end], null) as secrets
       from webhook_endpoints where disabled_at is null`,
  );
  return rows;
}

/** A receiver said 410 Gone: no more deliveries to it; its pending ones fail now. */
export async function disableEndpoint(db: pg.Pool, id: string, reason: string): Promise<void> {
  await db.query(`update webhook_endpoints set disabled_at = now(), disabled_reason = $2 where id = $1 and disabled_at is null`, [
    id,
    reason,
  ]);
  await db.query(
    `update webhook_deliveries set status = 'failed', last_error = $2, next_attempt_at = null, updated_at = now()
      where endpoint_id = $1 and status = 'pending'`,
    [id, `endpoint disabled: ${reason}`],
  );
}
