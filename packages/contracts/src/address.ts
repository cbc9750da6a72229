import { z } from 'zod';

/**
 * A pragmatic addr-spec: dot-atom local part (or a simple quoted string) @ a DNS name.
 * Deliberately stricter than RFC 5322 (no comments, no obsolete syntax, no IP literals):
 * what is rejected here can never reach an SMTP command line or a header unescaped.
 */
const LOCAL = String.raw`(?:[A-Za-z0-9!#$%&'*+/=?^_\`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_\`{|}~-]+)*|"[^"\\\r\n]{1,62}")`;
const DOMAIN = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*`;
const ADDR_SPEC = new RegExp(`^${LOCAL}@${DOMAIN}$`);
/** `Display Name <addr>`; the name may be quoted; no CR/LF, no angle brackets inside. */
const NAME_ADDR = new RegExp(`^\\s*(?:"([^"\\r\\n]{1,200})"|([^<>"\\r\\n]{1,200}?))\\s*<(${LOCAL}@${DOMAIN})>\\s*$`);

export interface ParsedAddress {
  name?: string;
  address: string;
}

export function parseAddress(input: string): ParsedAddress | null {
  if (/[\r\n\0]/.test(input) || input.length > 320) return null;
  const trimmed = input.trim();
  if (ADDR_SPEC.test(trimmed) && trimmed.length <= 254) return { address: trimmed };
  const m = NAME_ADDR.exec(trimmed);
  if (!m || (m[3]?.length ?? 0) > 254) return null;
  const name = (m[1] ?? m[2] ?? '').trim();
  return name ? { name, address: m[3] as string } : { address: m[3] as string };
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export const emailAddress = z.string().refine((s) => parseAddress(s) !== null, {
  message: 'must be an email address or "Name <address>" (no line breaks)',
});
