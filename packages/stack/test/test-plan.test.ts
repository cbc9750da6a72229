// test-plan: standalone
import t from 'tap';
import { repoRoot } from '../src/paths.js';
import { planTests } from '../src/test-plan.js';

t.test(
  'files that stop parts of the stack run alone, beside the ones that need none; everything else is shared; nothing twice or missed',
  async (t) => {
    const plan = planTests(repoRoot);
    t.ok(plan.exclusive.includes('test/e2e/boot-outages.test.ts'), 'boot-outages stops brokers through the stack control');
    t.ok(plan.shared.includes('test/e2e/restarts.test.ts'), 'restarts only restarts our own services');
    t.ok(plan.exclusive.includes('packages/stack/test/cli-start.test.ts'), 'cli-start is marked exclusive by its comment');
    t.ok(plan.standalone.includes('packages/stack/test/test-plan.test.ts'), 'marked standalone by its comment');
    t.ok(plan.shared.includes('services/api/test/idempotency.test.ts'), 'an unmarked file is shared');
    t.equal(plan.exclusive[0], 'test/e2e/broker-faults.test.ts', 'the longest exclusive file starts first');
    t.same(plan.exclusive.slice(1), [...plan.exclusive.slice(1)].sort(), 'the others in path order');
    t.ok(plan.standalone.every((f) => !plan.exclusive.includes(f)));
    const all = [...plan.shared, ...plan.exclusive, ...plan.standalone];
    t.equal(new Set(all).size, all.length, 'no file in two phases');
    t.ok(all.includes('services/api/test/fast/openapi.test.ts'), 'nested test folders are found');
    t.ok(all.every((f) => f.endsWith('.test.ts')));
  },
);
