import { createHash, randomBytes } from 'node:crypto';

function format(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** UUIDv7 (RFC 9562): time-ordered, so ids sort by acceptance and index well. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return format(b);
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

/** A stable hash of a request body, to tell a retry (same body) from a conflicting reuse of a key. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

/** JSON with object keys sorted, so key order never makes two equal requests differ. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
