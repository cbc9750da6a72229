import { promises as dns, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { commaList } from './config-fields.js';

/**
 * Where a webhook may be delivered (SSRF). Only globally routable unicast addresses: never
 * loopback, private (RFC 1918, unique-local), link-local (the cloud metadata service at
 * 169.254.169.254 and fd00:ec2::254 included), carrier-grade NAT, multicast, reserved or
 * unspecified. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

export type ResolveAll = (host: string) => Promise<LookupAddress[]>;

/** The system resolver (getaddrinfo, /etc/hosts included), or the given DNS servers (`ip` or `ip:port`). */
export function createResolver(servers: string[] = []): ResolveAll {
  if (servers.length === 0) return (host) => dns.lookup(host, { all: true, verbatim: true });
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers(servers);
  return async (host) => {
    const [v4, v6] = await Promise.all([resolver.resolve4(host).catch(() => []), resolver.resolve6(host).catch(() => [])]);
    const all = [...v4.map((address) => ({ address, family: 4 })), ...v6.map((address) => ({ address, family: 6 }))];
    if (all.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
    return all;
  };
}

export interface TargetPolicy {
  allowPrivate: boolean;
  resolve: ResolveAll;
}

/** Why `url` may not be a webhook endpoint (null: it may). Every address it resolves to must be public. */
export async function targetProblem(url: URL, policy: TargetPolicy): Promise<string | null> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not contain credentials';
  if (policy.allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await policy.resolve(host)).map((a) => a.address);
  } catch {
    return `its host ${host} does not resolve`;
  }
  const blocked = addresses.find((a) => !isPublicAddress(a));
  return blocked ? `its host resolves to ${blocked}, which is not a public address` : null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that resolves with `policy` and refuses non-public answers: the
 * connection can only go to an address checked here, at delivery time, so a DNS answer that
 * changed after registration (rebinding) is caught where it matters.
 */
export function guardedLookup(policy: TargetPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number } | number, callback: LookupCallback) => {
    const all = typeof options === 'object' && options.all === true;
    policy.resolve(hostname).then(
      (answers) => {
        const allowed = policy.allowPrivate ? answers : answers.filter((a) => isPublicAddress(a.address));
        if (allowed.length === 0) {
          const err = Object.assign(new Error(`${hostname} resolves only to addresses that are not public`), { code: 'EADDRNOTALLOWED' });
          return callback(err, all ? [] : '', 0);
        }
        if (all) return callback(null, allowed);
        const first = allowed[0] as LookupAddress;
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, all ? [] : '', 0),
    );
  };
}

/** The settings both the API (at registration) and the dispatcher (at delivery) read. */
export const webhookTargetFields = {
  /** Allow endpoints on loopback and private addresses (local work). Default: true in development and test only. */
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).optional(),
  /** DNS servers (ip or ip:port, comma-separated) for webhook hosts instead of the system resolver. */
  WEBHOOK_DNS_SERVERS: commaList.default([]),
};

/** The policy from those settings: private targets only where development defaults apply, unless said. */
export function webhookTargetPolicy(
  c: { WEBHOOK_ALLOW_PRIVATE?: 'true' | 'false' | undefined; WEBHOOK_DNS_SERVERS: string[] },
  devDefaults: boolean,
): TargetPolicy {
  const allowPrivate = c.WEBHOOK_ALLOW_PRIVATE === undefined ? devDefaults : c.WEBHOOK_ALLOW_PRIVATE === 'true';
  return { allowPrivate, resolve: createResolver(c.WEBHOOK_DNS_SERVERS) };
}
