import t from 'tap';
import { sleep } from '../helpers/env.js';
import { System } from './harness.js';

t.test('7. SIGTERM the API under load → every 202 delivered; no 202 without an ack', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  const load = system.load(24);
  await sleep(2_000);
  system.api.child.kill('SIGTERM');
  const { code } = await system.api.exited;
  await load.stop();
  t.equal(code, 0, 'the API exits 0');
  t.same(
    [...system.outcomes.keys()].filter((k) => !['202', '503', 'connection error'].includes(k)),
    [],
    'only 202, 503 (shutting down) or refused',
  );
  const s = await system.reconcile('API SIGTERM');
  t.ok(s.accepted > 100, `real load (${s.accepted} accepted)`);
  t.equal(s.lost, 0, 'every 202 was delivered');
  t.equal(s.duplicated, 0);
});
