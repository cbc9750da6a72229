import type { Envelope } from '@postline/contracts';
import type { RecipientWrite } from '@postline/ledger';
import { addRefused, addSuppressed, EventBuilder, type OutcomeWrite, type Via } from './outcome-writes.js';
import type { Refusal } from './smtp-outcome.js';

/*
 * An email whose recipients the server answered differently: some accepted, some refused with a
 * 4xx at RCPT TO (greylisting, "452 too many recipients", a mailbox busy). As Postfix does, and as
 * RFC 5321 asks of a client (4.2.5, 4.5.3.1.10), the 4xx ones are tried again later: the retry goes
 * to the recipients no attempt has settled, so an accepted recipient never gets a second copy, and
 * every copy carries the same Message-ID. The ledger's recipient rows say who is settled
 * (claim-queries.ts reads them with the claim).
 */

/** A refusal a later attempt may overcome: anything but a 5xx (a 4xx, or a refusal without a reply). */
export const isRetryable = (refusal: Refusal): boolean => refusal.response?.startsWith('5') !== true;

/**
 * Accepted for `accepted`, a 4xx for `pending`: the email is `retrying`, the pending recipients
 * are `pending` with their reply and an `email.delivery_delayed` each, and this attempt's
 * `email.sent` is not final (the last attempt's is). 5xx `refusals` bounce as in sentWrite().
 */
export function partlySentWrite(
  envelope: Envelope,
  o: {
    attempt: number;
    response: string;
    messageId: string;
    accepted: string[];
    refusals: Refusal[];
    pending: Refusal[];
    /** Of `pending`, those whose copy may have arrived (send-each.ts): `email.uncertain`, not delayed. */
    uncertain?: string[] | undefined;
    suppressed: string[];
    nextAttemptAt: Date;
    via?: Via;
  },
): OutcomeWrite {
  const events = new EventBuilder(envelope);
  const suppressed = addSuppressed(events, o.suppressed);
  const refused = addRefused(events, o.refusals);
  const nextAttemptAt = o.nextAttemptAt.toISOString();
  const uncertain = new Set(o.uncertain ?? []);
  for (const { recipient, response } of o.pending) {
    const data = { recipient, attempt: o.attempt, ...(response ? { smtpResponse: response } : {}), nextAttemptAt };
    events.add(uncertain.has(recipient) ? 'email.uncertain' : 'email.delivery_delayed', data, `${o.attempt}:${recipient}`);
  }
  // Its id names the attempt: the final email.sent (discriminator '') comes with a later one.
  events.add('email.sent', { smtpResponse: o.response, messageId: o.messageId, ...o.via }, o.attempt);
  const accepted: RecipientWrite[] = o.accepted.map((address) => ({ address, status: 'accepted', smtpResponse: o.response }));
  const pending: RecipientWrite[] = o.pending.map((r) => ({ address: r.recipient, status: 'pending', smtpResponse: r.response }));
  return {
    state: 'retrying',
    smtpResponse: o.response,
    messageId: o.messageId,
    lastError: `recipients deferred: ${o.pending.map((r) => r.recipient).join(', ')}`,
    nextAttemptAt: o.nextAttemptAt,
    uncertain: uncertain.size > 0,
    recipients: [...accepted, ...refused.recipients, ...pending, ...suppressed],
    suppress: refused.suppress,
    events: events.events,
  };
}

/**
 * An earlier attempt had recipients accepted, and this one ends the email without another: a
 * permanent failure, or the last attempt failed. The email stays `sent` (it was, to some), not
 * dead-lettered; each recipient left is `refused` with an `email.bounced`, the last one final.
 * `refusals` may suppress a hard bounce (refused at RCPT, or the email's only recipient); the
 * `others` met a failure of the whole transaction, which says nothing about one address.
 */
export function restRefusedWrite(
  envelope: Envelope,
  o: { error: string; response: string | null; uncertain?: boolean; refusals: Refusal[]; others: string[]; suppressed: string[] },
): OutcomeWrite {
  const events = new EventBuilder(envelope);
  const suppressed = addSuppressed(events, o.suppressed);
  const refused = addRefused(events, o.refusals);
  const bounceType = o.response?.startsWith('5') ? 'permanent' : 'transient';
  for (const recipient of o.others) {
    events.add('email.bounced', { recipient, smtpResponse: o.response ?? o.error, bounceType });
  }
  const last = events.events.at(-1);
  if (last) last.data.final = true;
  const others: RecipientWrite[] = o.others.map((address) => ({ address, status: 'refused', smtpResponse: o.response ?? o.error }));
  return {
    state: 'sent',
    smtpResponse: o.response,
    lastError: o.error,
    uncertain: o.uncertain ?? false,
    recipients: [...refused.recipients, ...others, ...suppressed],
    suppress: refused.suppress,
    events: events.events,
  };
}
