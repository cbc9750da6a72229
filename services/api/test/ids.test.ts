// test-plan: standalone
import t from 'tap';
import { idempotentId, uuidv7 } from '../src/ids.js';

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
