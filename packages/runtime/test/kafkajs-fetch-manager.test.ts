// test-plan: standalone

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { userNode } from '../../../test/helpers/user-node.js';
import { FETCH_MANAGER_PATCH_MARKER } from '../src/kafkajs-patch.js';

const require = createRequire(import.meta.url);
const race = join(import.meta.dirname, 'fixtures/fetch-manager-race.cjs');

/**
 * Runs the replay. A process whose event loop never turns again is killed `graceMs` after it says
 * `stop returned` (a sound one ends about 450 ms after that), or 60 s after its start: counted from
 * its own progress, so a slow start on a busy host is not taken for a hang.
 */
async function replay(version: 'installed' | 'original', graceMs: number): Promise<{ lines: string[]; killed: boolean }> {
  const child = spawn(...userNode([race, version]), { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => child.kill('SIGKILL');
  let timer = setTimeout(kill, 60_000);
  let out = '';
  let stopped = false;
  child.stdout.on('data', (c) => {
    out += c;
    if (stopped || !out.includes('stop returned')) return;
    stopped = true;
    clearTimeout(timer);
    timer = setTimeout(kill, graceMs);
  });
  const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('close', (c, s) => r([c, s])));
  clearTimeout(timer);
  return { lines: out.split('\n').filter(Boolean), killed: signal === 'SIGKILL' };
}

t.test('the kafkajs installed here carries the fetch manager mend', async (t) => {
  t.match(readFileSync(require.resolve('kafkajs/src/consumer/fetchManager.js'), 'utf8'), FETCH_MANAGER_PATCH_MARKER);
});

t.test('a consumer stopped while its fetchers rebalance stays stopped, and the event loop turns', async (t) => {
  // A broker goes; while the fetch manager waits for the old fetchers to end, the consumer stops.
  const { lines, killed } = await replay('installed', 30_000);
  t.notOk(killed, 'the process ended on its own');
  t.same(lines, ['stop returned', 'start ended', 'timer fired'], 'no new fetchers: start() ended, and a timer fired after it');
});

t.test("the replay is the race: kafkajs' own fetch manager makes new fetchers that never let the event loop turn", async (t) => {
  const { lines, killed } = await replay('original', 3_000);
  t.ok(killed, 'still running 3 s after the stop returned, killed');
  t.same(lines, ['stop returned'], 'start() never ended, and the timer due at 600 ms never fired');
});
