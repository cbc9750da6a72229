// test-plan: standalone
import { createHash } from 'node:crypto';
import t from 'tap';
import { requestHash } from '../src/request-hash.js';

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

t.test('request hashes ignore key order but not values', async (t) => {
  t.equal(await requestHash({ a: 1, b: [1, { c: 2, d: 3 }] }), await requestHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
  t.not(await requestHash({ a: 1 }), await requestHash({ a: 2 }));
  t.not(await requestHash([1, 2]), await requestHash([2, 1]));
});

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
  t.equal(await requestHash([email]), 'I9o72ZrT39-pUK6Wemc-297CUniC7KZHYEsvToQ94og');

  // Random bodies, with strings on both sides of the 64 KiB a string is hashed apart from.
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
    if ((await requestHash(body)) !== firstRequestHash(body)) differ++;
  }
  t.equal(differ, 0, '300 random bodies hash as they did');
});

t.test('a string longer than a slice (1 Mi characters) hashes as one, wherever a slice ends', async (t) => {
  const SLICE = 1024 * 1024;
  let differ = 0;
  let cases = 0;
  // A pair, a lone half of one, two-byte and escaped characters, just before and after each slice's end.
  for (const piece of ['😀', '\ud800', '\udc00', 'é', '"', '\u0000'])
    for (const at of [SLICE - 2, SLICE - 1, SLICE, SLICE + 1, 2 * SLICE - 1]) {
      const body = { text: `${'a'.repeat(at)}${piece}${'b'.repeat(5)}`, key: `${'k'.repeat(at)}${piece}` };
      cases++;
      if ((await requestHash(body)) !== firstRequestHash(body)) differ++;
    }
  // Every slice's end falls inside a pair.
  for (const text of ['😀'.repeat(SLICE + 1), `a${'😀'.repeat(SLICE)}`]) {
    cases++;
    if ((await requestHash({ text })) !== firstRequestHash({ text })) differ++;
  }
  t.equal(differ, 0, `${cases} strings of 1-2 Mi characters`);
});

t.test('a large string is hashed a slice a turn, so other work runs in between', async (t) => {
  const ran: string[] = [];
  const immediate = setImmediate(() => ran.push('other work'));
  t.teardown(() => clearImmediate(immediate));
  const hashed = requestHash({ text: 'x'.repeat(3 * 1024 * 1024) }).then(() => ran.push('hash'));
  await hashed;
  t.same(ran, ['other work', 'hash']);
  // A small body does not wait for a turn.
  const small: string[] = [];
  setImmediate(() => small.push('other work'));
  await requestHash({ text: 'x'.repeat(1_000) }).then(() => small.push('hash'));
  t.same(small, ['hash']);
});
