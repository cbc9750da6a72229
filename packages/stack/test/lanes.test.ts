// test-plan: standalone
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runInLanes } from '../src/lanes.js';

t.test('each lane takes the next file when its last one ends; one file at a time a lane; results in the files order', async (t) => {
  const durations: Record<string, number> = { long: 120, a: 10, b: 10, c: 10, d: 10 };
  const busy = new Set<string>();
  const taken: string[] = [];
  const results = await runInLanes(['lane-1', 'lane-2'], Object.keys(durations), async (lane, file) => {
    t.notOk(busy.has(lane), `${lane} runs one file at a time`);
    busy.add(lane);
    taken.push(`${lane}:${file}`);
    await sleep(durations[file]);
    busy.delete(lane);
    return file.toUpperCase();
  });
  t.same(results, ['LONG', 'A', 'B', 'C', 'D']);
  t.same(
    taken.filter((x) => x.startsWith('lane-1')),
    ['lane-1:long'],
    'the lane with the long file took nothing else: the short ones went to the other lane',
  );
  t.same(
    taken.filter((x) => x.startsWith('lane-2')),
    ['lane-2:a', 'lane-2:b', 'lane-2:c', 'lane-2:d'],
  );
});

t.test('one lane runs the files one after another, in order', async (t) => {
  let running = 0;
  const order: number[] = [];
  await runInLanes(['only'], [1, 2, 3], async (_lane, n) => {
    running++;
    t.equal(running, 1);
    order.push(n);
    await sleep(5);
    running--;
    return n;
  });
  t.same(order, [1, 2, 3]);
});

t.test('once stop() says so, no lane takes another file; what ran is returned', async (t) => {
  let stopped = false;
  const ran: number[] = [];
  const results = await runInLanes(
    ['x', 'y'],
    [1, 2, 3, 4, 5, 6],
    async (_lane, n) => {
      ran.push(n);
      if (n === 2) stopped = true;
      await sleep(5);
      return n * 10;
    },
    () => stopped,
  );
  t.same(ran, [1, 2], 'nothing started after the stop');
  t.same(results, [10, 20]);
});

t.test('a lane takes nothing before it opens; the others do not wait for it', async (t) => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const taken: string[] = [];
  const running = runInLanes(
    ['early', 'late'],
    [1, 2, 3, 4, 5, 6],
    async (lane, n) => {
      taken.push(`${lane}:${n}`);
      await sleep(10);
      return n;
    },
    () => false,
    (lane) => (lane === 'late' ? opened : Promise.resolve()),
  );
  await sleep(35);
  t.ok(taken.length >= 2 && taken.every((x) => x.startsWith('early:')), `before it opens, only the early lane takes files (${taken})`);
  open();
  t.same(await running, [1, 2, 3, 4, 5, 6], 'every file ran, results in order');
  t.ok(
    taken.some((x) => x.startsWith('late:')),
    'the late lane took files once open',
  );
});
