import t from 'tap';
import { repoRoot } from '../src/paths.js';
import { planTests } from '../src/test-plan.js';

t.test('files that stop parts of the stack run alone; everything else is shared; nothing twice or missed', async (t) => {
  const plan = planTests(repoRoot);
  t.ok(plan.exclusive.includes('test/e2e/boot-outages.test.ts'), 'boot-outages stops brokers through the stack control');
  t.ok(plan.shared.includes('test/e2e/restarts.test.ts'), 'restarts only restarts our own services');
  t.ok(plan.exclusive.includes('packages/stack/test/cli-start.test.ts'), 'cli-start is marked exclusive by its comment');
  t.ok(plan.shared.includes('packages/stack/test/test-plan.test.ts'));
  t.notOk(plan.shared.includes('test/e2e/broker-faults.test.ts'));
  const all = [...plan.shared, ...plan.exclusive];
  t.equal(new Set(all).size, all.length, 'no file in both phases');
  t.ok(all.includes('services/api/test/fast/openapi.test.ts'), 'nested test folders are found');
  t.ok(all.every((f) => f.endsWith('.test.ts')));
});
