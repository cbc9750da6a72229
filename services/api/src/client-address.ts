import { isIPv4, isIPv6 } from 'node:net';

/**
 * Who a client is, for what is counted by client (SMTP connections, wrong keys): an IPv4 address
 * (also when mapped into IPv6), or an IPv6 address's /64 (one subscriber's network: counting each
 * of its 2^64 addresses apart would let one client take as many shares as it likes).
 */
export function clientOf(address: string | undefined): string {
  if (!address) return '';
  const plain = plainAddress(address);
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  return `${expand(plain).slice(0, 4).join(':')}::/64`;
}

/** A dual-stack listener's `::ffff:10.0.0.5` is the IPv4 client 10.0.0.5. */
export const plainAddress = (address: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address);

/** The groups of an IPv6 address with `::` filled in and no zone (an IPv4 tail counts as two groups). */
function expand(address: string): string[] {
  const bare = address.split('%')[0] ?? '';
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = [...left, ...Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : Number.parseInt(g, 16).toString(16)));
}
