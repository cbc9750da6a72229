import { ConfigError, fields } from '@postline/runtime';

/** One relay of SMTP_RELAYS. */
export interface RelaySpec {
  /** `name=` in its URL, else relay1, relay2… (in metrics, logs, the ledger and SMTP_ROUTES). */
  name: string;
  /** The URL nodemailer gets, without our own parameters. */
  url: string;
  /** Share of the traffic among the healthy relays of a route. Default: 1 for the first relay, 0 (standby) for the others. */
  weight: number;
  /** Messages per second this relay may take at most (e.g. SES's quota); null: no cap. */
  maxRate: number | null;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const OURS = ['name', 'weight', 'maxRate'];

const refuse = (why: string) => new ConfigError(`Invalid configuration — SMTP_RELAYS ${why}.`);

/**
 * `smtps://u:p@ses.example:465?name=ses&maxRate=14, smtp://backup.example:587?weight=0`: relays in
 * priority order. By default the first takes all the traffic and the others are standbys that
 * take it only on failover; weights spread it. A password with a comma must be percent-encoded.
 */
export function parseRelays(list: string): RelaySpec[] {
  const entries = fields.commaSeparated(list);
  if (entries.length === 0) throw refuse('is empty');
  const relays = entries.map((entry, i) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw refuse(`entry ${i + 1} is not a URL`);
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw refuse(`entry ${i + 1} must be smtp:// or smtps://`);
    const name = url.searchParams.get('name') ?? `relay${i + 1}`;
    if (!NAME.test(name)) throw refuse(`entry ${i + 1}: name must be letters, digits, - or _ (at most 32)`);
    const weight = number(url.searchParams.get('weight'), i === 0 ? 1 : 0, `entry ${i + 1}: weight`, true);
    const rate = url.searchParams.get('maxRate');
    const maxRate = rate === null ? null : number(rate, 0, `entry ${i + 1}: maxRate`, false);
    for (const key of OURS) url.searchParams.delete(key);
    return { name, url: url.toString(), weight, maxRate };
  });
  const names = new Set(relays.map((r) => r.name));
  if (names.size !== relays.length) throw refuse('names must be unique');
  if (relays.every((r) => r.weight === 0)) throw refuse('needs a relay with a weight above 0');
  return relays;
}

function number(value: string | null, fallback: number, what: string, zeroAllowed: boolean): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!zeroAllowed && n === 0)) throw refuse(`${what} must be a number${zeroAllowed ? ' ≥ 0' : ' > 0'}`);
  return n;
}
