import {
  allRecipients,
  domainOf,
  type EmailRequest,
  ENVELOPE_HEADERS,
  ENVELOPE_VERSION,
  type Envelope,
  normalizeAddress,
  queuedEvent,
  senderAllowed,
} from '@postline/contracts';
import { reserve, suppressedAmong } from '@postline/ledger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdempotencyConflictError, QueueUnavailableError, SenderNotAllowedError } from './errors.js';
import { idempotentId, requestHash, uuidv7 } from './ids.js';

export interface Accepted {
  id: string;
  status: 'queued';
  /** Recipients on the account's suppression list now (the mailer skips them). */
  suppressed?: string[];
}

/** A sender is allowed when its domain is one of SENDER_DOMAINS: the API is never an open relay. */
export function checkSenders(emails: EmailRequest[], allowed: string[]): void {
  for (const email of emails) {
    if (!senderAllowed(email.from, allowed)) throw new SenderNotAllowedError(domainOf(email.from.address));
  }
}

/**
 * Puts already-validated emails on the requests topic and answers only once Kafka has
 * acknowledged every one of them with acks=all.
 *
 * With an Idempotency-Key the ids are derived from (account, key[, item index]) and reserved
 * in the ledger first: a retry gets the same ids (and, once accepted, produces nothing again);
 * the same key with another body is a 409. If the ledger is unreachable the reservation is
 * skipped — the deterministic ids still make the mailer send each email once — and only the
 * 409 check is lost for that request.
 */
export async function accept(
  app: FastifyInstance,
  request: FastifyRequest,
  emails: EmailRequest[],
  { idempotencyKey, batch }: { idempotencyKey: string | undefined; batch: boolean },
): Promise<Accepted[]> {
  const account = request.account;
  const ids = emails.map((_, i) => {
    if (idempotencyKey === undefined) return uuidv7();
    return idempotentId(account, batch ? `${idempotencyKey}#${i}` : idempotencyKey);
  });

  if (idempotencyKey !== undefined) {
    // Of the parsed emails: `"to": "a@x"` and `"to": ["a@x"]` are the same request.
    const hash = requestHash(emails);
    try {
      const reservations = await Promise.all(ids.map((id) => reserve(app.ledger, id, account, hash)));
      if (reservations.some((r) => r.kind === 'existing' && !r.sameRequest)) throw new IdempotencyConflictError();
      if (reservations.every((r) => r.kind === 'existing' && r.accepted)) {
        request.log.info({ ids, replay: true }, 'idempotent replay');
        return ids.map((id) => ({ id, status: 'queued' as const }));
      }
    } catch (error) {
      if (error instanceof IdempotencyConflictError) throw error;
      request.log.warn({ err: error }, 'ledger unavailable: idempotency reservation skipped');
    }
  }

  const acceptedAt = new Date().toISOString();
  const envelopes = emails.map((email, i) => {
    const envelope: Envelope = { v: ENVELOPE_VERSION, id: ids[i] as string, account, acceptedAt, attempt: 0, email };
    if (idempotencyKey !== undefined) envelope.idempotencyKey = idempotencyKey;
    return envelope;
  });
  const messages = envelopes.map((envelope) => ({ key: envelope.id, value: JSON.stringify(envelope), headers: { ...ENVELOPE_HEADERS } }));
  // Read alongside the produce, so it adds no latency; informational only (null: not known).
  const suppressed = suppressedRecipients(app, account, emails);
  try {
    await app.emailQueue.enqueue(messages);
  } catch (error) {
    request.log.warn({ err: error, ids }, 'not acknowledged by Kafka');
    throw new QueueUnavailableError();
  }
  app.metrics.accepted.inc(ids.length);
  request.log.info({ ids, account }, 'emails accepted');

  // Best effort, after the ack: makes the status lookup find the email at once. If it fails the
  // email is still safe in Kafka and the mailer creates the row when it claims the email.
  await app
    .recordAccepted(envelopes.map((e) => ({ id: e.id, account, queued: queuedEvent(e) })))
    .catch((error) => request.log.warn({ err: error }, 'ledger unavailable: queued status not recorded'));
  const lists = await suppressed;
  return ids.map((id, i) => {
    const list = lists?.[i];
    return list && list.length > 0 ? { id, status: 'queued' as const, suppressed: list } : { id, status: 'queued' as const };
  });
}

/** Per email, its recipients that are suppressed now; null when the ledger cannot say. */
async function suppressedRecipients(app: FastifyInstance, account: string, emails: EmailRequest[]): Promise<string[][] | null> {
  const perEmail = emails.map((email) => allRecipients(email));
  const all = [...new Set(perEmail.flat().map(normalizeAddress))];
  try {
    const found = new Set(await suppressedAmong(app.ledger, account, all));
    if (found.size === 0) return null;
    return perEmail.map((list) => list.filter((a) => found.has(normalizeAddress(a))));
  } catch {
    return null;
  }
}
