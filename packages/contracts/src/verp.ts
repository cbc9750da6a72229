/**
 * The VERP Return-Path every message gets when BOUNCE_DOMAIN is set: bounces+<email id>@<bounce
 * domain>. The mailer writes it (MAIL FROM); the bounce listener reads the email id back from
 * the address a bounce comes to. Email ids are UUIDs: nothing in them needs encoding.
 */
export function verpAddress(emailId: string, bounceDomain: string): string {
  return `bounces+${emailId}@${bounceDomain}`;
}

/** An email id (a UUID) as a regular-expression source: in VERP addresses and our Message-IDs. */
export const EMAIL_ID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const VERP = new RegExp(`^bounces\\+(${EMAIL_ID_PATTERN})@([^@\\s>]+)$`, 'i');

/** The email id of a VERP address of `bounceDomain`, or null. */
export function emailIdOfVerp(address: string, bounceDomain: string): string | null {
  const m = VERP.exec(address.trim());
  return m?.[1] && m[2]?.toLowerCase() === bounceDomain.toLowerCase() ? m[1].toLowerCase() : null;
}
