import {
  type EmailEvent,
  type Envelope,
  type EventData,
  type EventType,
  emailEvent,
  isHardBounce,
  normalizeAddress,
} from '@postline/contracts';
import type { FinalState, Outcome, RecipientWrite } from '@postline/ledger';
import type { Refusal } from './smtp-outcome.js';

/** Which relay an attempt used (and every relay it tried, after a failover): on its event. */
export interface Via {
  relay: string;
  relaysTried?: string[];
}

/** What one attempt decided, ready for recordOutcomes(): the state, and everything written with it. */
export interface OutcomeWrite extends Outcome {
  state: FinalState;
}

/** Builds the events of one email, each with its deterministic id and the email's tags. */
export class EventBuilder {
  readonly events: EmailEvent[] = [];
  private readonly at = new Date();

  constructor(private readonly envelope: Envelope) {}

  add(type: EventType, data: Omit<EventData, 'emailId' | 'tags'>, discriminator?: string | number): this {
    const full: EventData = { emailId: this.envelope.id, ...data };
    if (this.envelope.email.tags) full.tags = this.envelope.email.tags;
    this.events.push(emailEvent(this.envelope.account, type, full, this.at, discriminator));
    return this;
  }
}

/** Recipients skipped because they are suppressed: their outcome and an event each. */
export function addSuppressed(events: EventBuilder, suppressed: string[]): RecipientWrite[] {
  for (const recipient of suppressed) events.add('email.suppressed', { recipient, reason: 'on the suppression list' });
  return suppressed.map((address) => ({ address, status: 'suppressed', smtpResponse: null }));
}

/** Refused recipients: `email.bounced` each; a hard bounce also suppresses the address. */
export function addRefused(events: EventBuilder, refusals: Refusal[]): Required<Pick<Outcome, 'recipients' | 'suppress'>> {
  const suppress: NonNullable<Outcome['suppress']> = [];
  for (const { recipient, response } of refusals) {
    const hard = isHardBounce(response);
    const permanent = response?.startsWith('5') === true;
    events.add('email.bounced', {
      recipient,
      ...(response ? { smtpResponse: response } : {}),
      bounceType: hard ? 'hard' : permanent ? 'permanent' : 'transient',
    });
    if (hard) suppress.push({ address: normalizeAddress(recipient), reason: 'hard_bounce', smtpResponse: response });
  }
  return {
    recipients: refusals.map((r) => ({ address: r.recipient, status: 'refused', smtpResponse: r.response })),
    suppress,
  };
}

/**
 * Every recipient left is suppressed: nothing goes to SMTP; the last event is the final one. The
 * email is `sent` if an earlier attempt had a recipient accepted (`delivered`), else `suppressed`.
 */
export function allSuppressed(envelope: Envelope, suppressed: string[], delivered = false): OutcomeWrite {
  const events = new EventBuilder(envelope);
  const recipients = addSuppressed(events, suppressed);
  const last = events.events.at(-1);
  if (last) last.data.final = true;
  const lastError = delivered ? 'every recipient left is suppressed' : 'every recipient is suppressed';
  return { state: delivered ? 'sent' : 'suppressed', recipients, events: events.events, lastError };
}

/**
 * Accepted by the server for `accepted`, refused for the others: the email is `sent`. A 4xx with
 * attempts left is not refused but retried (partlySentWrite(), partial-delivery.ts).
 */
export function sentWrite(
  envelope: Envelope,
  o: {
    response: string;
    messageId: string;
    accepted: string[];
    refusals: Refusal[];
    uncertain?: string[];
    suppressed: string[];
    via?: Via;
  },
): OutcomeWrite {
  const events = new EventBuilder(envelope);
  const suppressed = addSuppressed(events, o.suppressed);
  const refused = addRefused(events, o.refusals);
  events.add('email.sent', { smtpResponse: o.response, messageId: o.messageId, ...o.via, final: true });
  const accepted: RecipientWrite[] = o.accepted.map((address) => ({ address, status: 'accepted', smtpResponse: o.response }));
  return {
    state: 'sent',
    smtpResponse: o.response,
    messageId: o.messageId,
    lastError: o.refusals.length > 0 ? `refused recipients: ${o.refusals.map((r) => r.recipient).join(', ')}` : null,
    uncertain: (o.uncertain?.length ?? 0) > 0,
    recipients: [...accepted, ...refused.recipients, ...suppressed],
    suppress: refused.suppress,
    events: events.events,
  };
}

/** The email will not be sent: `email.failed`, plus a bounce for each recipient the server refused. */
export function failedWrite(
  envelope: Envelope,
  o: { error: string; response: string | null; uncertain?: boolean; refusals?: Refusal[]; suppressed?: string[]; via?: Via },
): OutcomeWrite {
  const events = new EventBuilder(envelope);
  const suppressed = addSuppressed(events, o.suppressed ?? []);
  const refused = addRefused(events, o.refusals ?? []);
  events.add('email.failed', {
    error: o.error,
    ...(o.response ? { smtpResponse: o.response } : {}),
    ...(o.uncertain ? { uncertain: true } : {}),
    ...o.via,
    final: true,
  });
  return {
    state: 'failed',
    smtpResponse: o.response,
    lastError: o.error,
    uncertain: o.uncertain ?? false,
    recipients: [...refused.recipients, ...suppressed],
    suppress: refused.suppress,
    events: events.events,
  };
}

/** A retry is scheduled: `email.delivery_delayed`, or `email.uncertain` when the message may have arrived. */
export function retryWrite(
  envelope: Envelope,
  o: { attempt: number; error: string; response: string | null; uncertain: boolean; nextAttemptAt: Date; via?: Via },
): OutcomeWrite {
  const events = new EventBuilder(envelope).add(
    o.uncertain ? 'email.uncertain' : 'email.delivery_delayed',
    {
      attempt: o.attempt,
      error: o.error,
      ...(o.response ? { smtpResponse: o.response } : {}),
      nextAttemptAt: o.nextAttemptAt.toISOString(),
      ...o.via,
    },
    o.attempt,
  );
  return {
    state: 'retrying',
    smtpResponse: o.response,
    lastError: o.error,
    uncertain: o.uncertain,
    nextAttemptAt: o.nextAttemptAt,
    events: events.events,
  };
}
