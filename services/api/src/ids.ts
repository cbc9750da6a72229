import { createHash, randomUUID } from 'node:crypto';

function format(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * UUIDv7 (RFC 9562): time-ordered, so ids sort by acceptance and index well. The 48-bit
 * millisecond time, then the 74 random bits of a v4 UUID from `randomUUID()`, whose variant
 * bits are v7's too. `randomUUID()` draws from a cached block of entropy; a `randomBytes(16)` per
 * id went to OpenSSL every time: 3 % of the API's busy time under load (profiled), 3.6 against
 * 0.9 µs an id alone.
 */
export function uuidv7(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; from its 16th character on, 74 random bits with v7's variant.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/**
 * The id of a request carrying an Idempotency-Key: the same (account, key) always gives the
 * same id, so a retried request can never become a second email. UUIDv8 (RFC 9562, custom)
 * over SHA-256; the account is part of the hash so two accounts' keys never collide.
 */
export function idempotentId(account: string, idempotencyKey: string): string {
  // Length-prefixed, so no (account, key) pair can be spelled like another.
  const input = `postline:v1:${account.length}:${account}:${idempotencyKey}`;
  const b = createHash('sha256').update(input).digest().subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return format(b);
}
