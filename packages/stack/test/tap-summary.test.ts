// test-plan: standalone
import t from 'tap';
import { summarise } from '../src/tap-summary.js';

t.test('reads the closing line of a green run', async (t) => {
  t.same(summarise('ok 1 - x\n# { total: 12, pass: 12 }\n# time=1ms\n'), { total: 12, passed: 12, failed: 0, skipped: 0 });
});

t.test('counts failures, skips and todos', async (t) => {
  t.same(summarise('# { total: 10, pass: 6, fail: 2, skip: 1, todo: 1 }\n'), { total: 10, passed: 6, failed: 2, skipped: 2 });
});

t.test('anything neither passed nor skipped is a failure', async (t) => {
  t.equal(summarise('# { total: 5, pass: 3 }')?.failed, 2);
});

t.test('uses the last summary line and none at all means no summary', async (t) => {
  t.equal(summarise('# { total: 1, pass: 0, fail: 1 }\n# { total: 3, pass: 3 }\n')?.passed, 3);
  t.equal(summarise('not ok 1 - crashed\n'), null);
});
