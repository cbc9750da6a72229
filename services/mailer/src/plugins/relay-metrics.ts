import { Counter, Gauge, type Registry } from 'prom-client';
import type { Relay } from '../relays/relay-pool.js';

/** Each relay's health and pace, read at every scrape, and what it answered. */
export function relayMetrics(registry: Registry) {
  let relays: Relay[] = [];
  const byRelay = (read: (r: Relay) => number) =>
    function (this: Gauge) {
      for (const r of relays) this.set({ relay: r.spec.name }, read(r));
    };
  new Gauge({
    name: 'postline_mailer_relay_rate',
    help: 'Recipients/s each relay is paced at now (AIMD; -1: not paced, no cap and never throttled)',
    labelNames: ['relay'],
    registers: [registry],
    collect: byRelay((r) => r.throttle.rate ?? -1),
  });
  new Gauge({
    name: 'postline_mailer_relay_concurrency',
    help: 'Sends each relay may have in flight now (AIMD, at most SMTP_POOL_SIZE)',
    labelNames: ['relay'],
    registers: [registry],
    collect: byRelay((r) => r.throttle.concurrencyLimit),
  });
  new Gauge({
    name: 'postline_mailer_relay_up',
    help: "1 while a relay's breaker is closed, 0 while it is open or probing (its emails go to the next relay of their route)",
    labelNames: ['relay'],
    registers: [registry],
    collect: byRelay((r) => (r.breaker.state === 'closed' ? 1 : 0)),
  });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: `postline_mailer_relay_${name}`, help, labelNames, registers: [registry] });
  return {
    sends: counter('sends_total', 'Sends through each relay, by outcome', ['relay', 'outcome']),
    failovers: counter('failovers_total', 'Emails moved from a relay to the next one after a failure before DATA', ['relay']),
    cuts: counter('rate_cuts_total', "Halvings of a relay's rate, by the reply that caused them", ['relay', 'reason']),
    watch(list: Relay[]) {
      relays = list;
    },
  };
}
