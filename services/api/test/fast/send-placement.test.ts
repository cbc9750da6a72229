// test-plan: standalone

import type { Message, PartitionMetadata } from 'kafkajs';
import t from 'tap';
import { AVOID_AFTER_FAILURE_MS, NoFreePartitionError, SendPlacement } from '../../src/send-placement.js';

/** Twelve partitions led by brokers 1, 2 and 3 in turn (as the topic's creation spreads them). */
const topic = (leaderOf = (p: number) => 1 + (p % 3)): PartitionMetadata[] =>
  Array.from({ length: 12 }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderOf(partitionId),
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
  }));
const messages = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }));
/** One send placed and acknowledged at once. */
const placed = (placement: SendPlacement, index: number, n: number) => {
  const batch = messages(n);
  placement.settled(placement.place(index, batch), false);
  return batch.map((m) => m.partition as number);
};

t.test('a send goes to one broker, spread over its partitions; the next send to the next broker', async (t) => {
  const placement = new SendPlacement(1, () => 0);
  placement.update(topic());
  t.same(placement.senders(), [0]);
  t.same(placed(placement, 0, 8), [0, 3, 6, 9, 0, 3, 6, 9], 'broker 1’s partitions, a message to each in turn');
  t.same(placed(placement, 0, 3), [1, 4, 7], 'then broker 2’s');
  t.same(placed(placement, 0, 1), [2], 'then broker 3’s');
  t.same(placed(placement, 0, 1), [0], 'and round again, where broker 1’s last send stopped');
  t.same(placed(placement, 0, 1), [10], 'broker 2’s next partition');
  t.same(placed(placement, 0, 1), [5], 'and broker 3’s');
  t.same(placed(placement, 0, 2), [3, 6], 'so one email a send reaches every partition');
  // The readiness probe reads the same leaders again: nothing starts over.
  placement.update(topic());
  t.same(placed(placement, 0, 1), [1], 'broker 2’s turn: its first partition after a full round');
  t.same(placed(placement, 0, 1), [8], 'broker 3 goes on at its third partition, not its first');
});

t.test('with several producers, each sends only the partitions it owns', async (t) => {
  const placement = new SendPlacement(5, (p) => p % 5);
  placement.update(topic());
  const seen = new Map<number, Set<number>>();
  for (let send = 0; send < 12; send++)
    for (const index of placement.senders())
      for (const p of placed(placement, index, 4)) {
        t.equal(p % 5, index, `partition ${p} belongs to producer ${index}`);
        seen.set(index, (seen.get(index) ?? new Set()).add(p));
      }
  t.same(placement.senders(), [0, 1, 2, 3, 4]);
  t.same(
    [...seen.values()].reduce((n, s) => n + s.size, 0),
    12,
    'between them, every partition is used',
  );
  const many = new SendPlacement(16, (p) => p % 16);
  many.update(topic());
  t.same(many.senders(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'a producer with no partition gets no request');
  t.throws(() => many.place(13, messages(1)), /owns no partition/);
});

t.test('leaders that moved: the next sends follow them, and a leaderless partition is left out', async (t) => {
  const placement = new SendPlacement(1, () => 0);
  placement.update(topic());
  t.same(placed(placement, 0, 4), [0, 3, 6, 9]);
  // Broker 2 died: its partitions moved to brokers 1 and 3, but for partition 4, which has none yet.
  placement.update(topic((p) => (p === 4 ? -1 : p % 3 === 1 ? (p === 1 ? 1 : 3) : 1 + (p % 3))));
  // The second send since the first update: the second of the two brokers now.
  const next = [placed(placement, 0, 6), placed(placement, 0, 6), placed(placement, 0, 6)];
  t.same(next[0], [2, 5, 7, 8, 10, 11], 'broker 3 leads 7 and 10 as well');
  t.same(next[1], [0, 1, 3, 6, 9, 0], 'broker 1 now leads partition 1 too');
  t.same(next[2], [2, 5, 7, 8, 10, 11], 'two brokers now, in turn');
  t.notOk(next.flat().includes(4), 'never the partition with no leader');
  // No leader anywhere (the metadata of a cluster that is down): the partitions are kept, not dropped.
  placement.update(topic(() => -1));
  t.same(placement.senders(), [0]);
  t.same(
    placed(placement, 0, 12).sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
});

t.test('a broker that does not answer is gone around, and no partition is in two sends at once', async (t) => {
  let clock = 0;
  const placement = new SendPlacement(
    1,
    () => 0,
    () => clock,
  );
  placement.update(topic());
  // A send to broker 1 of two emails: partitions 0 and 3, not acknowledged yet.
  const stuck = placement.place(0, messages(2));
  t.same(stuck, { producer: 0, leader: 1, partitions: [0, 3], slow: false });
  t.same(placed(placement, 0, 1), [1], 'broker 2 next, as ever');
  t.same(placed(placement, 0, 1), [2], 'then broker 3');
  t.same(placed(placement, 0, 4), [6, 9, 6, 9], 'broker 1 again, but only its partitions not in the send in flight');
  // Past SLOW_SEND_MS: broker 1 is avoided while that send lasts.
  let released = 0;
  placement.slow(stuck, () => released++);
  t.equal(released, 1, 'its producer is released at once: other partitions are free');
  const turns = Array.from({ length: 6 }, () => placed(placement, 0, 1)[0] as number);
  t.same(
    turns.map((p) => 1 + (p % 3)),
    [2, 3, 2, 3, 2, 3],
    'brokers 2 and 3 in turn, evenly',
  );
  placement.settled(stuck, false);
  t.same(
    Array.from({ length: 3 }, () => 1 + ((placed(placement, 0, 1)[0] as number) % 3)),
    [1, 2, 3],
    'acknowledged at last: broker 1 takes its turn again',
  );

  // A failed send: its broker left out for AVOID_AFTER_FAILURE_MS, its partitions free at once.
  const failed = placement.place(0, messages(1));
  t.equal(failed.leader, 1);
  placement.settled(failed, true);
  t.same(
    Array.from({ length: 4 }, () => 1 + ((placed(placement, 0, 1)[0] as number) % 3)),
    [2, 3, 2, 3],
  );
  clock += AVOID_AFTER_FAILURE_MS;
  t.same(
    Array.from({ length: 3 }, () => 1 + ((placed(placement, 0, 1)[0] as number) % 3)),
    [1, 2, 3],
    'and back after it',
  );
});

t.test('every broker slow: one avoided is still used while it has a free partition; none free is an error', async (t) => {
  const placement = new SendPlacement(
    1,
    () => 0,
    () => 0,
  );
  placement.update(topic());
  const sends = [placement.place(0, messages(3)), placement.place(0, messages(3)), placement.place(0, messages(3))];
  const released: number[] = [];
  for (const [i, send] of sends.entries()) placement.slow(send, () => released.push(i));
  t.same(released, [0, 1, 2], 'each released: partitions 9, 10 and 11 are free');
  t.same(
    sends.map((s) => s.partitions),
    [
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ],
  );
  const last = placement.place(0, messages(5));
  t.same(last.partitions, [9], "broker 1's one free partition, for all five");
  t.same(placement.place(0, messages(1)).partitions, [10]);
  t.same(placement.place(0, messages(1)).partitions, [11]);
  t.throws(() => placement.place(0, messages(1)), NoFreePartitionError, 'all twelve in sends: refused, not doubled up');
  placement.slow(last, () => released.push(3));
  t.same(released, [0, 1, 2], 'slow with no partition free: held, its producer not released');
  placement.settled(sends[1] as (typeof sends)[number], true);
  t.same(released, [0, 1, 2, 3], 'released once a send frees partitions');
  t.same(placement.place(0, messages(2)).partitions, [1, 4], 'a settled send frees its partitions, even on a broker avoided');
});

t.test('a partition keeps out of a second send when its leader moves', async (t) => {
  const placement = new SendPlacement(
    1,
    () => 0,
    () => 0,
  );
  placement.update(topic());
  const stuck = placement.place(0, messages(4));
  t.same(stuck.partitions, [0, 3, 6, 9]);
  placement.slow(stuck, () => {});
  // Broker 1 failed over: its partitions are led by broker 2 now, the send to it still running in kafkajs.
  placement.update(topic((p) => (p % 3 === 0 ? 2 : 1 + (p % 3))));
  const next = Array.from({ length: 6 }, () => placed(placement, 0, 8)).flat();
  t.notOk(
    next.some((p) => [0, 3, 6, 9].includes(p)),
    'none of the four partitions in the stuck send',
  );
  placement.settled(stuck, false);
  t.ok(
    Array.from({ length: 4 }, () => placed(placement, 0, 8))
      .flat()
      .includes(0),
    'free again once it ended',
  );
});
