// test-plan: standalone
import { createHash } from 'node:crypto';
import t from 'tap';
import { idempotentId, requestHash, uuidv7 } from '../src/ids.js';

t.test('uuidv7 is a v7 UUID and sorts by time', async (t) => {
  const a = uuidv7(1_700_000_000_000);
  const b = uuidv7(1_700_000_000_001);
  t.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.ok(a < b);
  t.not(uuidv7(), uuidv7());
  // The time is the first 48 bits, exactly; the rest is random.
  t.match(uuidv7(0x0123456789ab), /^01234567-89ab-7/);
  t.match(uuidv7(0), /^00000000-0000-7/);
  t.match(uuidv7(2 ** 48 - 1), /^ffffffff-ffff-7/);
  const tails = new Set(Array.from({ length: 1_000 }, () => uuidv7(0).slice(15).replaceAll('-', '')));
  t.equal(tails.size, 1_000, 'no two ids of one millisecond alike');
  // Each of the 19 hex digits after the version carries random bits (the variant digit two of them).
  for (let i = 0; i < 19; i++) t.ok(new Set([...tails].map((x) => x[i])).size >= (i === 3 ? 4 : 16) * 0.75, `digit ${i} varies`);
});

t.test('idempotent ids depend on account and key, nothing else', async (t) => {
  t.equal(idempotentId('acme', 'k'), idempotentId('acme', 'k'));
  t.not(idempotentId('acme', 'k'), idempotentId('other', 'k'));
  t.not(idempotentId('acme', 'k'), idempotentId('acme', 'k2'));
  // The encoding keeps ("a", "b:c") and ("a:b", "c") apart, whatever the characters.
  t.not(idempotentId('a', 'b:c'), idempotentId('a:b', 'c'));
  t.not(idempotentId('a', 'b\0c'), idempotentId('a\0b', 'c'));
  t.match(idempotentId('acme', 'k'), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

t.test('request hashes ignore key order but not values', async (t) => {
  t.equal(requestHash({ a: 1, b: [1, { c: 2, d: 3 }] }), requestHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
  t.not(requestHash({ a: 1 }), requestHash({ a: 2 }));
  t.not(requestHash([1, 2]), requestHash([2, 1]));
});

/** The first version's request hash (until 2026-12-04): the text built whole, then hashed. The ledger holds hashes made so. */
function firstRequestHash(body: unknown): string {
  const canonical = (value: unknown): string => {
    if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
    if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
    }
    return JSON.stringify(value) ?? 'null';
  };
  return createHash('sha256').update(canonical(body)).digest('base64url');
}

t.test('request hashes are the bytes the ledger already holds: the first version’s, for any body', async (t) => {
  // Made by the first version, kept here as the contract with rows already stored.
  const email = {
    to: ['Zoë <z@example.net>'],
    from: 'a@example.com',
    subject: 'Hi "there" \\ 😀',
    text: `${'x'.repeat(70_000)}\n`,
    tags: [{ name: 'n', value: 'v' }],
    headers: null,
  };
  t.equal(requestHash([email]), 'I9o72ZrT39-pUK6Wemc-297CUniC7KZHYEsvToQ94og');

  // Random bodies, with strings on both sides of the 64 KiB a piece is hashed alone from.
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pieces = ['a', 'é', '"', '\\', '\n', '\u0001', '😀', ' ', '<', '\u2028'];
  const text = () => {
    const n = [0, 1, 10, 65_534, 65_536, 70_000][Math.floor(rnd() * 6)] as number;
    const piece = pieces[Math.floor(rnd() * pieces.length)] as string;
    return piece.repeat(Math.ceil(n / piece.length)) + (pieces[Math.floor(rnd() * pieces.length)] as string);
  };
  const value = (depth: number): unknown => {
    const kind = Math.floor(rnd() * (depth < 3 ? 8 : 5));
    if (kind === 0) return null;
    if (kind === 1) return Math.floor(rnd() * 1e6) / 7;
    if (kind === 2) return rnd() < 0.5;
    if (kind <= 4) return text();
    if (kind === 5) return undefined;
    if (kind === 6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [text().slice(0, 20), value(depth + 1)]));
  };
  let differ = 0;
  for (let i = 0; i < 300; i++) {
    const body = [value(0), { to: text(), nested: value(1) }];
    if (requestHash(body) !== firstRequestHash(body)) differ++;
  }
  t.equal(differ, 0, '300 random bodies hash as they did');
});
