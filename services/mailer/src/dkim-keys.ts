import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@postline/runtime';

/** One signing key, in the shape nodemailer's `dkim.keys` takes. */
export interface DkimKey {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

export interface DkimKeyring {
  /** The keys that sign mail from `domain`: its own, else its closest parent domain's (each selector signs). */
  keysFor(domain: string): DkimKey[];
  /** Every domain with a key, each with its selectors. */
  readonly domains: ReadonlyMap<string, DkimKey[]>;
}

// `<domain>.<selector>.pem`: the selector is the last label before `.pem`.
const FILE = /^(?<domain>(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})\.(?<selector>[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)\.pem$/i;
/** Below this a receiver may ignore the signature (RFC 8301 requires at least 1024; 2048 is what providers ask for). */
const MIN_RSA_BITS = 1024;

export const emptyKeyring: DkimKeyring = { keysFor: () => [], domains: new Map() };

/**
 * Reads DKIM_KEYS_DIR once at boot. Hidden entries are skipped (a Kubernetes secret mount has
 * `..data` links); any other name that is not `<domain>.<selector>.pem`, and any key that is not
 * RSA of at least 1024 bits (what nodemailer signs with), stops the boot with one sentence, so
 * a typo never leaves a domain silently unsigned.
 */
export function loadDkimKeys(dir: string): DkimKeyring {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (error) {
    throw new ConfigError(`Invalid configuration — DKIM_KEYS_DIR ${dir} cannot be read (${(error as NodeJS.ErrnoException).code}).`);
  }
  const domains = new Map<string, DkimKey[]>();
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const match = FILE.exec(name);
    if (!match?.groups) {
      throw new ConfigError(`Invalid configuration — DKIM_KEYS_DIR holds ${name}, which is not named <domain>.<selector>.pem.`);
    }
    const privateKey = readFileSync(path, 'utf8');
    checkKey(name, privateKey);
    const domain = (match.groups.domain as string).toLowerCase();
    const keys = domains.get(domain) ?? [];
    keys.push({ domainName: domain, keySelector: match.groups.selector as string, privateKey });
    domains.set(domain, keys);
  }
  return {
    domains,
    keysFor(domain) {
      const labels = domain.toLowerCase().split('.');
      for (let i = 0; i < labels.length - 1; i++) {
        const keys = domains.get(labels.slice(i).join('.'));
        if (keys) return keys;
      }
      return [];
    },
  };
}

function checkKey(name: string, pem: string): void {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError(`Invalid configuration — DKIM_KEYS_DIR/${name} is not a PEM private key.`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS) {
    throw new ConfigError(
      `Invalid configuration — DKIM_KEYS_DIR/${name} must be an RSA key of at least ${MIN_RSA_BITS} bits (2048 recommended).`,
    );
  }
}

/** The TXT record to publish at `<selector>._domainkey.<domain>` for `key` (RFC 6376 §3.6.1). */
export function dnsRecord(key: DkimKey): { name: string; value: string } {
  const spki = createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' });
  return { name: `${key.keySelector}._domainkey.${key.domainName}`, value: `v=DKIM1; k=rsa; p=${spki.toString('base64')}` };
}

/** Sender domains with no key (theirs or a parent's): sent unsigned, or refused under DKIM_REQUIRED. */
export function unsignedDomains(keyring: DkimKeyring, senderDomains: readonly string[]): string[] {
  return senderDomains.filter((d) => keyring.keysFor(d).length === 0);
}
