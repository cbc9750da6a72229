import type { Envelope } from '@postline/contracts';
import type { LogSink } from '@postline/runtime';
import type { SmtpOutcome } from '../smtp-outcome.js';
import type { SmtpSender } from '../smtp-sender.js';
import type { RelaySpec } from './relay-config.js';
import { type Route, relaysFor } from './routes.js';

export interface Relay {
  spec: RelaySpec;
  sender: SmtpSender;
}

export type PoolOutcome = SmtpOutcome & {
  messageId: string;
  /** The relay whose answer this is (the last one tried). */
  relay: string;
  /** Every relay tried for this attempt, in order, with what each answered. */
  tried: { relay: string; kind: SmtpOutcome['kind'] }[];
};

/**
 * Whether another relay may take an email after this outcome: only when nothing can have been
 * delivered, i.e. the failure came before the DATA phase (refused or timed-out connection, a 4xx
 * to EHLO/STARTTLS/AUTH/MAIL/RCPT, a TLS failure). Once DATA began the outcome is `uncertain`,
 * and the email stays on its relay with its Message-ID: it never fans out to a second one.
 */
export function mayFailOver(outcome: SmtpOutcome): boolean {
  return outcome.kind === 'unavailable' || (outcome.kind === 'transient' && outcome.beforeData === true);
}

/** A sender over several relays: the same contract as one relay's, with the relays it tried. */
export interface RelayPool extends SmtpSender {
  send(envelope: Envelope, recipients?: string[], pinned?: string): Promise<PoolOutcome>;
}

/**
 * Sends through the relays of the email's route: the first pick by weight, then the others in
 * the configured order while each failure allows it (mayFailOver). `pinned`: the relay of an
 * earlier uncertain attempt, the only one this attempt may use.
 */
export function createRelayPool(relays: Relay[], routes: Route[], log: LogSink, random = Math.random): RelayPool {
  const byName = new Map(relays.map((r) => [r.spec.name, r]));
  return {
    async send(envelope: Envelope, recipients?: string[], pinned?: string): Promise<PoolOutcome> {
      const pin = pinned ? byName.get(pinned) : undefined;
      // A pin to a relay since removed from SMTP_RELAYS: the operator took it away, so route as usual.
      if (pinned && !pin) log.warn({ emailId: envelope.id, relay: pinned }, 'pinned relay no longer configured; routing as usual');
      const order = pin ? [pin] : ordered(envelope);
      const tried: PoolOutcome['tried'] = [];
      let last: (SmtpOutcome & { messageId: string }) | undefined;
      for (const relay of order) {
        last = await relay.sender.send(envelope, recipients);
        tried.push({ relay: relay.spec.name, kind: last.kind });
        if (!mayFailOver(last)) break;
        if (tried.length < order.length)
          log.warn({ emailId: envelope.id, relay: relay.spec.name, kind: last.kind }, 'relay failed before DATA; trying the next');
      }
      if (!last) throw new Error('no relay to send through');
      return { ...last, relay: tried.at(-1)?.relay as string, tried };
    },
    /** Whether any relay answers (start-up: a mailer with one working relay can send). */
    async verify() {
      const results = await Promise.all(relays.map((r) => r.sender.verify()));
      return results.some(Boolean);
    },
    close() {
      for (const r of relays) r.sender.close();
    },
  };

  function ordered(envelope: Envelope): Relay[] {
    const route = relaysFor(
      routes,
      relays.map((r) => r.spec),
      envelope.email,
    ).map((spec) => byName.get(spec.name) as Relay);
    const total = route.reduce((n, r) => n + r.spec.weight, 0);
    if (total === 0) return route;
    let x = random() * total;
    const first = route.find((r) => (x -= r.spec.weight) < 0) ?? route[0];
    return [first as Relay, ...route.filter((r) => r !== first)];
  }
}
