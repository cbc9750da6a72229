import { allRecipients, type Envelope } from '@postline/contracts';
import { type LogSink, monotonicMs } from '@postline/runtime';
import { SmtpBreaker } from '../circuit-breaker.js';
import type { Via } from '../outcome-writes.js';
import { isOutage, type SmtpOutcome } from '../smtp-outcome.js';
import type { SmtpSender } from '../smtp-sender.js';
import type { RelaySpec } from './relay-config.js';
import type { RelayThrottle } from './relay-throttle.js';
import { type Route, relaysFor } from './routes.js';

/**
 * The longest an email waits in its partition for its relay's next send slot. A later slot is
 * not waited for: the email goes to the retry topic due at that slot (retries-without-blocking),
 * so a throttled relay never holds a partition, and the emails behind it, for longer than this.
 */
export const MAX_SLOT_WAIT_MS = 1_000;

export interface Relay {
  spec: RelaySpec;
  sender: SmtpSender;
  /** Opens on outages of this relay only: a dead relay is skipped, the others carry on. */
  breaker: SmtpBreaker<SmtpOutcome>;
  throttle: RelayThrottle;
}

export type PoolOutcome = SmtpOutcome & {
  messageId: string;
  /** The relay whose answer this is (the last one tried). */
  relay: string;
  /** Every relay tried for this attempt, in order, with what each answered. */
  tried: { relay: string; kind: SmtpOutcome['kind'] }[];
};

/** Nothing was sent: every relay of the route is down (`open`) or its next slot is too far (`throttled`). */
export interface PoolWait {
  wait: number;
  reason: 'open' | 'throttled';
}

/**
 * Whether another relay may take an email after this outcome: only when nothing can have been
 * delivered, i.e. the failure came before the DATA phase (refused or timed-out connection, a 4xx
 * to EHLO/STARTTLS/AUTH/MAIL/RCPT, a TLS failure). Once DATA began the outcome is `uncertain`,
 * and the email stays on its relay with its Message-ID: it never fans out to a second one.
 */
export function mayFailOver(outcome: SmtpOutcome): boolean {
  return outcome.kind === 'unavailable' || (outcome.kind === 'transient' && outcome.beforeData === true);
}

export interface RelayPool {
  /** An envelope with `relay` (an earlier attempt was uncertain there) goes to that relay only. */
  send(envelope: Envelope, recipients?: string[]): Promise<PoolOutcome | PoolWait>;
  /** How long before any relay of this email's route may be tried (0: now); read before claiming. */
  waitMs(envelope: Envelope): number;
  /** Whether any relay answers (start-up: a mailer with one working relay can send). */
  verify(): Promise<boolean>;
  close(): void;
}

export interface PoolHooks {
  sent?(relay: string, kind: SmtpOutcome['kind']): void;
  failedOver?(from: string): void;
}

/**
 * Sends through the relays of the email's route: the first pick by weight, then the others in
 * the configured order while each failure allows it (mayFailOver). Relays whose breaker is open
 * are skipped; each send waits for its relay's slot (AIMD pacing, relay-throttle.ts).
 */
export function createRelayPool(relays: Relay[], routes: Route[], log: LogSink, hooks: PoolHooks = {}, random = Math.random): RelayPool {
  const byName = new Map(relays.map((r) => [r.spec.name, r]));
  const room = new Map(relays.map((r) => [r.spec.name, [] as (() => void)[]]));

  const specs = relays.map((r) => r.spec);

  /** The relays this email may use: its pinned one, else its route's, in failover order. */
  function routeOf(envelope: Envelope): Relay[] {
    const pin = envelope.relay ? byName.get(envelope.relay) : undefined;
    if (pin) return [pin];
    return relaysFor(routes, specs, envelope.email).map((spec) => byName.get(spec.name) as Relay);
  }

  /** The route with its first relay picked by weight. */
  function order(envelope: Envelope): Relay[] {
    const route = routeOf(envelope);
    if (route.length === 1) return route;
    const total = route.reduce((n, r) => n + r.spec.weight, 0);
    if (total === 0) return route;
    // The first relay by weight: the one whose share of [0, total) the random point falls in.
    const point = random() * total;
    let below = 0;
    const first =
      route.find((r) => {
        below += r.spec.weight;
        return point < below;
      }) ?? route[0];
    return [first as Relay, ...route.filter((r) => r !== first)];
  }

  /** Waits for a concurrency place on the relay (freed by a send ending; bounded by SEND_TIMEOUT_MS). */
  async function enter(relay: Relay, count: number): Promise<void> {
    while (!relay.throttle.hasRoom()) await new Promise<void>((resolve) => room.get(relay.spec.name)?.push(resolve));
    relay.throttle.begin(monotonicMs(), count);
  }
  /** `outcome` null: the send threw, and says nothing about the relay's load. */
  function leave(relay: Relay, outcome: SmtpOutcome | null): void {
    relay.throttle.end(outcome, monotonicMs());
    room.get(relay.spec.name)?.shift()?.();
  }

  return {
    async send(e, recipients) {
      // A pin to a relay since removed from SMTP_RELAYS: the operator took it away, so route as usual.
      if (e.relay && !byName.has(e.relay))
        log.warn({ emailId: e.id, relay: e.relay }, 'pinned relay no longer configured; routing as usual');
      const candidates = order(e);
      // What the relay's rate counts: the recipients this attempt goes to.
      const count = Math.max(1, (recipients ?? allRecipients(e.email)).length);
      const tried: PoolOutcome['tried'] = [];
      let last: (SmtpOutcome & { messageId: string }) | undefined;
      let wait: PoolWait | null = null;
      for (const relay of candidates) {
        const name = relay.spec.name;
        if (relay.breaker.waitMs > 0) {
          wait = shorter(wait, { wait: relay.breaker.waitMs, reason: 'open' });
          continue;
        }
        const slot = relay.throttle.reserve(monotonicMs(), count);
        if (slot > MAX_SLOT_WAIT_MS) {
          relay.throttle.unreserve(count);
          wait = shorter(wait, { wait: slot, reason: 'throttled' });
          // Pacing is not a failure: the email waits for its own relay, it does not spill onto a standby.
          break;
        }
        if (slot > 0) await new Promise((resolve) => setTimeout(resolve, slot));
        const run = await relay.breaker.execute(async () => {
          await enter(relay, count);
          let result: (SmtpOutcome & { messageId: string }) | null = null;
          try {
            result = await relay.sender.send(e, recipients);
            return result;
          } finally {
            leave(relay, result);
          }
        });
        if ('wait' in run) {
          wait = shorter(wait, { wait: run.wait, reason: 'open' });
          continue;
        }
        const outcome = run.result;
        last = outcome;
        tried.push({ relay: name, kind: outcome.kind });
        hooks.sent?.(name, outcome.kind);
        if (!mayFailOver(outcome)) break;
        if (candidates.indexOf(relay) < candidates.length - 1) {
          hooks.failedOver?.(name);
          log.warn({ emailId: e.id, relay: name, kind: outcome.kind }, 'relay failed before DATA; trying the next');
        }
      }
      // A relay that answered decides, unless it failed before DATA and another was only waiting.
      if (last && !(mayFailOver(last) && wait)) return { ...last, relay: tried.at(-1)?.relay as string, tried };
      return wait ?? { wait: MAX_SLOT_WAIT_MS, reason: 'open' };
    },
    waitMs(envelope) {
      const waits = routeOf(envelope).map((r) => r.breaker.waitMs);
      return waits.length === 0 ? 0 : Math.min(...waits);
    },
    async verify() {
      const results = await Promise.all(relays.map((r) => r.sender.verify()));
      return results.some(Boolean);
    },
    close() {
      for (const r of relays) r.sender.close();
    },
  };
}

/** What an attempt's events say of its relays: the one that answered, and all tried when it failed over. */
export function relayData(outcome: Pick<PoolOutcome, 'relay' | 'tried'>): Via {
  return outcome.tried.length > 1 ? { relay: outcome.relay, relaysTried: outcome.tried.map((t) => t.relay) } : { relay: outcome.relay };
}

function shorter(a: PoolWait | null, b: PoolWait): PoolWait {
  return a && a.wait <= b.wait ? a : b;
}

/** A breaker per relay, as the mailer used for its one server: 0.5 s doubling to 30 s. */
export function relayBreaker(): SmtpBreaker<SmtpOutcome> {
  return new SmtpBreaker<SmtpOutcome>(isOutage, 500, 30_000);
}
