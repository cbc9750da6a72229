import { createHmac } from 'node:crypto';
import { normalizeAddress } from './recipients.js';

/**
 * The VERP Return-Path every message gets when BOUNCE_DOMAIN is set: bounces+<email id>-<tag>@<bounce
 * domain>, one per recipient (each recipient is its own SMTP transaction). The mailer writes it (MAIL
 * FROM); the bounce listener reads the email and the recipient back from the address a bounce comes
 * to. Email ids are UUIDs and tags hex: nothing in them needs encoding, and the local part stays
 * within SMTP's 64 characters (61). Without a tag, the address names the email alone.
 */
export function verpAddress(emailId: string, bounceDomain: string, tag?: string): string {
  return `bounces+${emailId}${tag ? `-${tag}` : ''}@${bounceDomain}`;
}

/**
 * The tag that names one recipient of an email: an HMAC of both under the ledger's VERP key, so
 * that a recipient, who sees its own Return-Path, cannot write another recipient's: a report to
 * its address speaks for that recipient alone. 64 bits: guessing one is an SMTP transaction each.
 */
export function verpTag(key: Buffer, emailId: string, recipient: string): string {
  return createHmac('sha256', key)
    .update(`${emailId}\0${normalizeAddress(recipient)}`)
    .digest('hex')
    .slice(0, 16);
}

/** An email id (a UUID) as a regular-expression source: in VERP addresses and our Message-IDs. */
export const EMAIL_ID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const VERP = new RegExp(`^bounces\\+(${EMAIL_ID_PATTERN})(?:-([0-9a-f]{16}))?@([^@\\s>]+)$`, 'i');

/** What a VERP address of `bounceDomain` names: the email, and the recipient's tag (null in an untagged one). */
export interface Verp {
  emailId: string;
  tag: string | null;
}

/** The email (and recipient tag) a VERP address of `bounceDomain` names, or null. */
export function parseVerp(address: string, bounceDomain: string): Verp | null {
  const m = VERP.exec(address.trim());
  if (!m?.[1] || m[3]?.toLowerCase() !== bounceDomain.toLowerCase()) return null;
  return { emailId: m[1].toLowerCase(), tag: m[2]?.toLowerCase() ?? null };
}
