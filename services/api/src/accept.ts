import {
  allRecipients,
  domainOf,
  type EmailRequest,
  ENVELOPE_HEADERS,
  ENVELOPE_VERSION,
  type Envelope,
  normalizeAddress,
  type QueuedEmail,
  queuedEvent,
  scheduledEvent,
  senderAllowed,
} from '@postline/contracts';
import { reserve } from '@postline/ledger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdempotencyConflictError, QueueUnavailableError, SenderNotAllowedError } from './errors.js';
import { idempotentId, uuidv7 } from './ids.js';
import { LARGE_TEXT_CHARS, nextTurn } from './next-turn.js';
import type { Placement } from './plugins/kafka-producer.js';
import { requestHash } from './request-hash.js';
import { type RenderedEmail, renderTemplates } from './templates/request-render.js';
import { mapInTurns } from './validation.js';

export interface Accepted {
  id: string;
  status: 'queued' | 'scheduled';
  scheduledAt?: string;
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
/** Who is sending: an HTTP request, or an SMTP submission session (its account and logger). */
export type Caller = Pick<FastifyRequest, 'account' | 'log'> & Partial<Pick<FastifyRequest, 'accessLog'>>;

/** An HTTP request's access line carries the outcome (plugins/access-log.ts); a submission session logs its own. */
function noteOutcome(caller: Caller, fields: Record<string, unknown>, message: string): void {
  if (caller.accessLog !== undefined) caller.accessLog = fields;
  else caller.log.info(fields, message);
}

export async function accept(
  app: FastifyInstance,
  request: Caller,
  emails: EmailRequest[],
  { idempotencyKey, batch }: { idempotencyKey: string | undefined; batch: boolean },
): Promise<Accepted[]> {
  const account = request.account;
  const ids = emails.map((_, i) => {
    if (idempotencyKey === undefined) return uuidv7();
    return idempotentId(account, batch ? `${idempotencyKey}#${i}` : idempotencyKey);
  });

  // A time in the past means now: only a future one schedules.
  const later = emails.map((e) => (e.scheduledAt !== undefined && Date.parse(e.scheduledAt) > Date.now() ? e.scheduledAt : null));
  const answer = answerFor(later);

  if (idempotencyKey !== undefined) {
    // Of the parsed emails: `"to": "a@x"` and `"to": ["a@x"]` are the same request (and for a
    // template send: the same template, version and variables).
    const hash = await requestHash(emails);
    try {
      const reservations = await Promise.all(ids.map((id) => reserve(app.ledger, id, account, hash)));
      if (reservations.some((r) => r.kind === 'existing' && !r.sameRequest)) throw new IdempotencyConflictError();
      if (reservations.every((r) => r.kind === 'existing' && r.accepted)) {
        noteOutcome(request, { ids, replay: true }, 'idempotent replay');
        return ids.map(answer);
      }
    } catch (error) {
      if (error instanceof IdempotencyConflictError) throw error;
      app.recurring.warn(request.log, { err: error }, 'ledger unavailable: idempotency reservation skipped');
    }
  }

  const rendering = await renderTemplates(app, request.account, emails, batch);
  try {
    return await enqueue(app, request, { ids, rendered: rendering.emails, later, idempotencyKey });
  } finally {
    rendering.release();
  }
}

/** The answer for the email `id` at `i`: scheduled when it is due `later`. */
const answerFor =
  (later: (string | null)[]) =>
  (id: string, i: number): Accepted => {
    const due = later[i];
    return due ? { id, status: 'scheduled', scheduledAt: due } : { id, status: 'queued' };
  };

/** An email's characters of text, html and attachments: at LARGE_TEXT_CHARS or more it is large (enqueue). */
const contentChars = (email: QueuedEmail): number =>
  (email.text?.length ?? 0) + (email.html?.length ?? 0) + (email.attachments ?? []).reduce((sum, a) => sum + a.content.length, 0);

interface Enqueue {
  ids: string[];
  rendered: RenderedEmail[];
  later: (string | null)[];
  idempotencyKey: string | undefined;
}

/** Produces the emails (the 202 comes only after the ack), then records them and reads their suppressions. */
async function enqueue(app: FastifyInstance, request: Caller, { ids, rendered, later, idempotencyKey }: Enqueue): Promise<Accepted[]> {
  const account = request.account;
  const acceptedAt = new Date().toISOString();
  const envelopes = rendered.map(({ email, template }, i) => {
    const envelope: Envelope = { v: ENVELOPE_VERSION, id: ids[i] as string, account, acceptedAt, attempt: 0, email };
    if (idempotencyKey !== undefined) envelope.idempotencyKey = idempotencyKey;
    const due = later[i];
    if (due) envelope.scheduledAt = due;
    if (template) envelope.template = template;
    return envelope;
  });
  // A large email's envelope is written in a turn of its own: JSON.stringify of a 4 MB email takes
  // 6-16 ms, and the turn that parsed and validated its body has already worked 7-25 ms (its
  // reading had one of its own: json-shape.ts).
  if (rendered.some(({ email }) => contentChars(email) >= LARGE_TEXT_CHARS)) await nextTurn();
  const messages = await mapInTurns(envelopes, (envelope) => ({
    key: envelope.id,
    value: JSON.stringify(envelope),
    headers: { ...ENVELOPE_HEADERS },
  }));
  let placements: Placement[];
  try {
    placements = await app.emailQueue.enqueue(messages);
  } catch (error) {
    throw new QueueUnavailableError({ cause: error });
  }
  app.metrics.accepted.inc(ids.length);
  noteOutcome(request, { ids, account }, 'emails accepted');

  const lists = await recordAndReadSuppressions(app, request, envelopes, placements, acceptedAt);
  const answer = answerFor(later);
  return ids.map((id, i) => {
    const list = lists?.[i];
    return list && list.length > 0 ? { ...answer(id, i), suppressed: list } : answer(id, i);
  });
}

/**
 * Best effort, after the ack, in one statement: the rows make a status lookup find the emails at
 * once (if they fail, the emails are still safe in Kafka and the mailer creates the rows when it
 * claims them), and per email its recipients that are suppressed now (informational: the mailer
 * checks again before it sends); null when the ledger cannot say.
 */
async function recordAndReadSuppressions(
  app: FastifyInstance,
  request: Caller,
  envelopes: Envelope[],
  placements: Placement[],
  acceptedAt: string,
): Promise<string[][] | null> {
  const account = request.account;
  const rows = envelopes.map((e, i) => ({
    id: e.id,
    account,
    scheduledAt: e.scheduledAt ?? null,
    template: e.template ?? null,
    event: e.scheduledAt ? scheduledEvent(account, e.id, e.scheduledAt, acceptedAt, e.email.tags) : queuedEvent(e),
    kafka: placements[i] as Placement,
  }));
  const perEmail = envelopes.map((e) => allRecipients(e.email));
  const addresses = [...new Set(perEmail.flat().map(normalizeAddress))];
  try {
    const found = new Set(await app.recordAccepted(rows, { account, addresses }));
    if (found.size === 0) return null;
    return perEmail.map((list) => list.filter((a) => found.has(normalizeAddress(a))));
  } catch (error) {
    app.recurring.warn(request.log, { err: error }, 'ledger unavailable: queued status not recorded');
    return null;
  }
}
