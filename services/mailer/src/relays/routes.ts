import { domainOf } from '@postline/contracts';
import { ConfigError } from '@postline/runtime';
import type { RelaySpec } from './relay-config.js';

interface Match {
  domain?: string;
  tag?: { name: string; value: string };
}

export interface Route {
  match: Match;
  /** Relay names, in failover order. */
  relays: string[];
}

const refuse = (why: string) => new ConfigError(`Invalid configuration — SMTP_ROUTES ${why}.`);

/**
 * `tag:stream:marketing=bulk; domain:news.example.com+tag:kind:digest=bulk|main`: rules, the first
 * that matches wins. A rule's selectors (`domain:<sender domain>`, `tag:<name>:<value>`, joined by
 * `+` when all must match) pick its relays, named as in SMTP_RELAYS and listed in failover order.
 * An email no rule matches uses every relay.
 */
export function parseRoutes(spec: string, relays: readonly RelaySpec[]): Route[] {
  const names = new Set(relays.map((r) => r.name));
  return spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((rule, i) => {
      const eq = rule.lastIndexOf('=');
      if (eq < 1) throw refuse(`rule ${i + 1} must be <selector>=<relay>[|<relay>…]`);
      const match: Match = {};
      for (const selector of rule
        .slice(0, eq)
        .split('+')
        .map((s) => s.trim())) {
        const [kind, ...rest] = selector.split(':');
        if (kind === 'domain' && rest.length === 1 && rest[0]) match.domain = rest[0].toLowerCase();
        else if (kind === 'tag' && rest.length === 2 && rest[0] && rest[1] !== undefined) match.tag = { name: rest[0], value: rest[1] };
        else throw refuse(`rule ${i + 1}: ${selector} is not domain:<domain> or tag:<name>:<value>`);
      }
      const list = rule
        .slice(eq + 1)
        .split('|')
        .map((s) => s.trim());
      const unknown = list.filter((n) => !names.has(n));
      if (unknown.length > 0) throw refuse(`rule ${i + 1} names relays not in SMTP_RELAYS: ${unknown.join(', ')}`);
      return { match, relays: list };
    });
}

/** The relays for an email, in failover order: its route's, else all of them. */
export function relaysFor(
  routes: readonly Route[],
  relays: readonly RelaySpec[],
  email: { from: { address: string }; tags?: Record<string, string> },
): RelaySpec[] {
  const domain = domainOf(email.from.address);
  const route = routes.find(
    ({ match }) => (!match.domain || match.domain === domain) && (!match.tag || email.tags?.[match.tag.name] === match.tag.value),
  );
  if (!route) return [...relays];
  return route.relays.map((name) => relays.find((r) => r.name === name) as RelaySpec);
}
