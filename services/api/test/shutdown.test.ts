import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { serviceNodeArgs } from '../../../packages/stack/src/node-options.js';
import { repoRoot } from '../../../packages/stack/src/paths.js';
import { freePort } from '../../../packages/stack/src/ports.js';
import { AUTH, apiEnv, email } from '../../../test/helpers/api.js';
import { sleep, waitUntil } from '../../../test/helpers/env.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { userNode } from '../../../test/helpers/user-node.js';

t.test('SIGTERM under load: exits 0, and every id answered 202 is on the topic', async (t) => {
  const port = await freePort();
  const env = apiEnv({ PORT: String(port), LOG_LEVEL: 'warn' });
  const child = spawn(...userNode([...serviceNodeArgs('api'), join(repoRoot, 'services/api/dist/server.js')]), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  t.teardown(() => child.kill('SIGKILL'));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await sleep(200);
  }

  const accepted: string[] = [];
  const outcomes = new Map<string, number>();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/emails`, {
          method: 'POST',
          headers: { ...AUTH, 'content-type': 'application/json' },
          body: JSON.stringify(email()),
        });
        const body = (await res.json()) as { id?: string; code?: string };
        outcomes.set(String(res.status), (outcomes.get(String(res.status)) ?? 0) + 1);
        if (res.status === 202 && body.id) accepted.push(body.id);
      } catch {
        outcomes.set('connection error', (outcomes.get('connection error') ?? 0) + 1);
        await sleep(20);
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  // Signalled once the load is real, not after a fixed time: beside a CPU-heavy file, a fixed
  // 1.5 s once saw only 20 accepted (the first sends to a fresh topic wait on its leaders).
  await waitUntil(() => accepted.length > 50, 30_000);
  await sleep(200);
  const acceptedBeforeSignal = accepted.length;
  child.kill('SIGTERM');
  const code = await exit;
  stop = true;
  await Promise.all(workers);

  t.equal(code, 0, `exits 0 (stderr: ${stderr.slice(0, 500)})`);
  t.ok(acceptedBeforeSignal > 50, `load was real: ${acceptedBeforeSignal} accepted before SIGTERM`);
  t.same(
    [...outcomes.keys()].filter((k) => !['202', '503', 'connection error'].includes(k)),
    [],
    `only 202, 503 or refused (${JSON.stringify([...outcomes])})`,
  );
  const ids = new Set(accepted);
  const records = await readTopic(testKafka(), env.EMAILS_TOPIC!, (rs) => [...ids].every((id) => rs.some((r) => r.key === id)), 60_000);
  const onTopic = new Set(records.map((r) => r.key));
  t.same(
    [...ids].filter((id) => !onTopic.has(id)),
    [],
    `all ${ids.size} ids answered 202 are on the topic`,
  );
});
