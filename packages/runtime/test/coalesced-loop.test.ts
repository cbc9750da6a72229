import t from 'tap';
import { CoalescedLoop } from '../src/coalesced-loop.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

t.test('nudges during a round ask for exactly one more; never two rounds at once', async (t) => {
  let rounds = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let release: () => void = () => {};
  const loop = new CoalescedLoop(async () => {
    rounds++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise<void>((r) => (release = r));
    concurrent--;
  }, 60_000);
  loop.start();
  for (let i = 0; i < 5; i++) loop.nudge();
  t.equal(rounds, 1, 'one round running');
  release();
  await tick();
  t.equal(rounds, 2, 'five nudges during it: one more round');
  release();
  await tick();
  t.equal(rounds, 2, 'and no other');
  t.equal(maxConcurrent, 1);
  await loop.stop();
});

t.test('stop(true) runs one last round; after stop nothing runs', async (t) => {
  let rounds = 0;
  const loop = new CoalescedLoop(async () => {
    rounds++;
  }, 60_000);
  loop.start();
  await tick();
  t.equal(rounds, 1, 'start runs a round');
  await loop.stop(true);
  t.equal(rounds, 2, 'the last round');
  loop.nudge();
  await tick();
  t.equal(rounds, 2, 'nothing after stop');
  const plain = new CoalescedLoop(async () => {
    rounds++;
  }, 60_000);
  await plain.stop();
  plain.nudge();
  await tick();
  t.equal(rounds, 2, 'a loop stopped without a last round runs none');
});
