import { createHash } from 'node:crypto';
import { nextTurn } from './next-turn.js';

/** A string this long or longer goes to the hash on its own, not appended to the text before it. */
const LARGE = 64 * 1024;
/** A large string is escaped and hashed this many characters at a time, each in a turn of the event loop of its own. */
const SLICE = 1024 * 1024;

/**
 * A stable hash of a request body, to tell a retry (same body) from a conflicting reuse of a key:
 * SHA-256 of the body as JSON with object keys sorted, so key order never makes two equal requests
 * differ. The ledger keeps it for the key's lifetime, so these bytes must not change (a retry
 * across an upgrade would read as a conflict); request-hash.test.ts holds them to the first
 * version's.
 *
 * The text is fed to the hash as it is written, never built whole, and a large string a slice at a
 * time, each in a turn of its own: for a 4 MB text, building the text and hashing it held the event
 * loop 15-20 ms in one piece, in the turn that had just parsed the body.
 */
export async function requestHash(body: unknown): Promise<string> {
  const hash = createHash('sha256');
  for (const part of canonicalParts(body)) {
    if (typeof part === 'string') hash.update(part);
    else await hashLargeString(hash, part.large);
  }
  return hash.digest('base64url');
}

/** The canonical JSON text in order: runs of small pieces joined, and each large string apart, unescaped. */
function canonicalParts(body: unknown): (string | { large: string })[] {
  const parts: (string | { large: string })[] = [];
  // Small pieces gather here (one part for a whole ordinary email).
  let pending = '';
  const scalar = (value: unknown) => {
    if (typeof value === 'string' && value.length >= LARGE) {
      parts.push(pending, { large: value });
      pending = '';
    } else pending += JSON.stringify(value) ?? 'null';
  };
  const write = (value: unknown): void => {
    if (Array.isArray(value)) {
      pending += '[';
      value.forEach((item, i) => {
        if (i > 0) pending += ',';
        write(item);
      });
      pending += ']';
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      pending += '{';
      entries.forEach(([key, item], i) => {
        if (i > 0) pending += ',';
        scalar(key);
        pending += ':';
        write(item);
      });
      pending += '}';
    } else scalar(value);
  };
  write(body);
  parts.push(pending);
  return parts;
}

/**
 * JSON.stringify(text), fed to the hash a slice at a time. Escaping is per character, and a
 * surrogate is escaped only when it is not half of a pair, so slices that never split a pair
 * escape to the same text as the whole.
 */
async function hashLargeString(hash: ReturnType<typeof createHash>, text: string): Promise<void> {
  hash.update('"');
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + SLICE, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
    await nextTurn();
    const json = JSON.stringify(text.slice(start, end));
    // Without its quotes: a substring of a long string shares its memory, no copy.
    hash.update(json.substring(1, json.length - 1));
    start = end;
  }
  hash.update('"');
}
