// test-plan: standalone
import t from 'tap';
import { sqlLimit } from '../src/sql-limit.js';

t.test('a whole number becomes a limit; anything else never reaches SQL', async (t) => {
  t.equal(sqlLimit(64), 'limit 64');
  t.equal(sqlLimit(0), 'limit 0');
  for (const bad of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    t.throws(() => sqlLimit(bad), RangeError, `refused: ${bad}`);
  }
  t.throws(() => sqlLimit('1; drop table emails' as unknown as number), RangeError, 'refused: a string');
});
