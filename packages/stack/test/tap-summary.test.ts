// test-plan: standalone
import t from 'tap';
import { FAILED_LINES_KEPT, FailedLines, summarise } from '../src/tap-summary.js';

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

t.test('the failed lines are kept with their depth, across chunks, and bounded', async (t) => {
  const f = new FailedLines();
  const out =
    'ok 1 - a\n    # Subtest: b\n        not ok 1 - not parked\n    not ok 3 - a due email\nnot ok 24 - file.test.ts # time=4ms\n';
  for (let i = 0; i < out.length; i += 7) f.push(out.slice(i, i + 7));
  t.same(f.lines(), ['        not ok 1 - not parked', '    not ok 3 - a due email', 'not ok 24 - file.test.ts # time=4ms']);
  const g = new FailedLines();
  g.push(`not ok 1 - ${'x'.repeat(500)}\n`);
  for (let i = 0; i < FAILED_LINES_KEPT + 5; i++) g.push(`not ok ${i} - y\n`);
  const lines = g.lines();
  t.equal(lines[0]?.length, 200, 'a long line is cut');
  t.equal(lines.length, FAILED_LINES_KEPT + 1);
  t.equal(lines.at(-1), '… and 6 more');
  const h = new FailedLines();
  h.push('ok 1 - fine\n# { total: 1, pass: 1 }\nnot ok 2 - last, with no newline');
  t.same(h.lines(), ['not ok 2 - last, with no newline'], 'the last line counts without its newline');
});
