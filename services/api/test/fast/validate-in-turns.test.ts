// test-plan: standalone

import { DEFAULT_LIMITS } from '@postline/contracts';
import t from 'tap';
import { apiSchemas } from '../../src/schemas.js';
import { mapInTurns, VALIDATION_TURN_MS, validateInTurns, validatorCompiler } from '../../src/validation.js';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

t.test('mapInTurns lets the event loop run once a turn has worked VALIDATION_TURN_MS, and keeps the order', async (t) => {
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  const out = await mapInTurns([1, 2, 3, 4], (n) => {
    order.push(`item ${n}`);
    busy(VALIDATION_TURN_MS + 1);
    return n * 10;
  });
  t.same(out, [10, 20, 30, 40]);
  // Each item fills a turn: the work queued before the batch runs after the first, not after the last
  // (in one piece, it ran after all four).
  t.same(order, ['item 1', 'other work', 'item 2', 'item 3', 'item 4']);
});

t.test('mapInTurns does not yield while a turn is short: a small batch costs no extra turn', async (t) => {
  const order: string[] = [];
  setImmediate(() => order.push('other work'));
  await mapInTurns([1, 2, 3], (n) => order.push(`item ${n}`));
  t.same(order, ['item 1', 'item 2', 'item 3']);
});

t.test('validateInTurns answers a batch as the whole-body parse does: the same values, the same 400', async (t) => {
  const schemas = apiSchemas(DEFAULT_LIMITS, 100);
  const whole = validatorCompiler({ schema: schemas.batch.body, httpPart: 'body', method: 'POST', url: '/v1/emails/batch' });
  const good = { from: 'Shop <orders@example.com>', to: ['"Doe, Jane" <jane@example.net>', 'b@example.net'], subject: 'Hi', text: 'x' };
  const bodies: Record<string, unknown[]> = {
    'all valid': [good, { ...good, cc: 'c@example.net', tags: { a: 'b' } }],
    'two bad items': [good, { ...good, to: 'not an address' }, good, { ...good, subject: '', extra: 1 }],
    'more problems than are listed': Array.from({ length: 30 }, () => ({ ...good, to: ['a@', 'b@'] })),
    'a string where an email goes': [good, 'nope'],
  };
  for (const [what, emails] of Object.entries(bodies)) {
    const expected = whole({ emails }) as { value?: { emails: unknown[] }; error?: { errors: unknown; detail: string; code: string } };
    const got = await validateInTurns(schemas.email, emails, (i) => ['emails', i]).then(
      (value) => ({ value: { emails: value } }),
      (error: { errors: unknown; detail: string; code: string }) => ({ error }),
    );
    if (expected.error) {
      t.ok('error' in got, `${what}: refused`);
      const e = (got as { error: typeof expected.error }).error;
      t.same([e.code, e.detail, e.errors], [expected.error.code, expected.error.detail, expected.error.errors], `${what}: the same 400`);
    } else t.same(got, { value: expected.value }, `${what}: the same values`);
  }
});
