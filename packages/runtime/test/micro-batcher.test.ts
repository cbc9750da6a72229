// test-plan: standalone
import type { Message } from 'kafkajs';
import t from 'tap';
import { PRODUCE_BATCH_BYTES } from '../src/email-topics.js';
import { AckTimeoutError, type BatcherOptions, MicroBatcher } from '../src/micro-batcher.js';

const msg = (k: string): Message => ({ key: k, value: k });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A batcher whose first send stays in flight until `release()`: what queues meanwhile forms the next batches. */
function holdingFirstSend(options: BatcherOptions<Message>) {
  const sends: string[][] = [];
  let done: () => void = () => {};
  const b = new MicroBatcher<Message>(async (ms) => {
    sends.push(ms.map((m) => String(m.key)));
    if (sends.length === 1) await new Promise<void>((r) => (done = r));
  }, options);
  return { b, sends, release: () => done() };
}

t.test('concurrent units are sent in one produce and each resolves on the ack', async (t) => {
  const sends: string[][] = [];
  const b = new MicroBatcher<Message>(async (ms) => void sends.push(ms.map((m) => String(m.key))), {
    lingerMs: 5,
    maxBatch: 100,
    maxInFlight: 1,
    timeoutMs: 1000,
  });
  await Promise.all([b.enqueue([msg('a')]), b.enqueue([msg('b'), msg('c')]), b.enqueue([msg('d')])]);
  t.same(sends, [['a', 'b', 'c', 'd']]);
});

t.test('while one produce is in flight the next batch accumulates; units are never split', async (t) => {
  const { b, sends, release } = holdingFirstSend({ lingerMs: 0, maxBatch: 3, maxInFlight: 1, timeoutMs: 1000 });
  const first = b.enqueue([msg('a')]);
  await tick();
  const rest = [b.enqueue([msg('b'), msg('c')]), b.enqueue([msg('d'), msg('e')]), b.enqueue([msg('f')])];
  await tick();
  t.equal(sends.length, 1, 'nothing more sent while the first is in flight');
  release();
  await Promise.all([first, ...rest]);
  t.same(sends, [['a'], ['b', 'c'], ['d', 'e', 'f']], 'max 3 a batch, units whole');
});

t.test('busyLingerMs: after a send, what queued meanwhile waits until its oldest unit is busyLingerMs old', async (t) => {
  const { b, sends, release } = holdingFirstSend({ lingerMs: 300, busyLingerMs: 300, maxBatch: 100, maxInFlight: 1, timeoutMs: 5000 });
  const first = b.enqueue([msg('a')]);
  await tick(350);
  t.same(sends, [['a']], 'the first unit waited out its linger');
  const queuedAt = performance.now();
  const second = b.enqueue([msg('b')]);
  release();
  await first;
  await tick(20);
  t.equal(sends.length, 1, 'not sent the moment the send in flight ended, as it is without the option');
  const third = b.enqueue([msg('c')]);
  await Promise.all([second, third]);
  t.same(sends, [['a'], ['b', 'c']], 'the unit queued during the wait joined it');
  t.ok(performance.now() - queuedAt >= 290, 'sent once the oldest unit was busyLingerMs old');
});

t.test(
  'busyLingerMs: a unit that already waited busyLingerMs while a send was in flight goes when it ends; a full batch at once',
  async (t) => {
    const { b, sends, release } = holdingFirstSend({ lingerMs: 50, busyLingerMs: 50, maxBatch: 2, maxInFlight: 1, timeoutMs: 5000 });
    const first = b.enqueue([msg('a')]);
    await tick(80);
    const second = b.enqueue([msg('b')]);
    await tick(100);
    release();
    await first;
    await tick(5);
    t.same(sends, [['a'], ['b']], 'b had waited its linger during the send in flight');
    const more = [b.enqueue([msg('c')]), b.enqueue([msg('d')])];
    await tick(5);
    t.same(sends, [['a'], ['b'], ['c', 'd']], 'maxBatch items are sent without waiting');
    await Promise.all([second, ...more]);
  },
);

t.test(
  'busyLingerMs alone: a unit that finds nothing in flight goes at once; one queued behind a send waits, free slot or not',
  async (t) => {
    const { b, sends, release } = holdingFirstSend({ lingerMs: 0, busyLingerMs: 300, maxBatch: 100, maxInFlight: 2, timeoutMs: 5000 });
    const first = b.enqueue([msg('a')]);
    t.same(sends, [['a']], 'nothing in flight: sent at once');
    const queuedAt = performance.now();
    const second = b.enqueue([msg('b')]);
    await tick(20);
    t.equal(sends.length, 1, 'a slot is free, but a send is in flight: it waits for company');
    release();
    await Promise.all([first, second]);
    t.same(sends, [['a'], ['b']]);
    t.ok(performance.now() - queuedAt >= 290, 'sent once it was busyLingerMs old');
  },
);

t.test('sameTurn: what one event-loop turn enqueues goes in one send', async (t) => {
  const sends: string[][] = [];
  const b = new MicroBatcher<Message>(async (ms) => void sends.push(ms.map((m) => String(m.key))), {
    lingerMs: 0,
    sameTurn: true,
    maxBatch: 100,
    maxInFlight: 2,
    timeoutMs: 1000,
  });
  // As the requests one produce's ack resumes: each enqueues its rows in the same turn.
  const units = ['a', 'b', 'c', 'd'].map((k) => b.enqueue([msg(k)]));
  t.same(sends, [], 'nothing sent before the turn ends');
  await Promise.all(units);
  t.same(sends, [['a', 'b', 'c', 'd']], 'one send, not one per free slot');
});

t.test('a failed produce rejects every unit in it', async (t) => {
  const b = new MicroBatcher<Message>(async () => Promise.reject(new Error('NOT_ENOUGH_REPLICAS')), {
    lingerMs: 1,
    maxBatch: 10,
    maxInFlight: 1,
    timeoutMs: 1000,
  });
  const results = await Promise.allSettled([b.enqueue([msg('a')]), b.enqueue([msg('b')])]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

t.test('past its deadline a unit rejects; if it was still queued it is never sent', async (t) => {
  const sent: string[] = [];
  let release: () => void = () => {};
  const b = new MicroBatcher<Message>(
    async (ms) => {
      sent.push(...ms.map((m) => String(m.key)));
      await new Promise<void>((r) => (release = r));
    },
    { lingerMs: 0, maxBatch: 10, maxInFlight: 1, timeoutMs: 50 },
  );
  const inFlight = b.enqueue([msg('stuck')]);
  await tick();
  const queued = b.enqueue([msg('queued')]);
  const results = await Promise.allSettled([inFlight, queued]);
  t.ok(
    results.every((r) => r.status === 'rejected' && r.reason instanceof AckTimeoutError),
    'both time out',
  );
  release();
  await b.drain();
  t.same(sent, ['stuck'], 'the queued one was dropped, not produced after its 503');
});

t.test('drain sends what is queued and waits for it', async (t) => {
  const sent: string[] = [];
  const b = new MicroBatcher<Message>(async (ms) => void sent.push(...ms.map((m) => String(m.key))), {
    lingerMs: 10_000,
    maxBatch: 10,
    maxInFlight: 1,
    timeoutMs: 20_000,
  });
  const p = b.enqueue([msg('x')]);
  await b.drain();
  await p;
  t.same(sent, ['x']);
  t.equal(b.pending, 0);
});

t.test('a byte budget: units that would pass it together go in separate sends; one larger than it goes alone', async (t) => {
  const weighed: string[] = [];
  const { b, sends, release } = holdingFirstSend({
    lingerMs: 0,
    maxBatch: 100,
    maxInFlight: 1,
    timeoutMs: 1000,
    bytes: {
      max: PRODUCE_BATCH_BYTES.max,
      of: (m) => {
        weighed.push(String(m.key));
        return PRODUCE_BATCH_BYTES.of(m);
      },
    },
  });
  const first = b.enqueue([msg('a')]);
  await tick();
  // As e2e 19's large emails: each about 3 MB, two of them more than the budget (half the brokers' limit).
  const large = (k: string): Message => ({ key: k, value: Buffer.alloc(3_000_000) });
  const rest = [
    b.enqueue([large('L1')]),
    b.enqueue([large('L2')]),
    b.enqueue([msg('s')]),
    b.enqueue([{ key: 'XL', value: 'x'.repeat(5_000_000) }]),
  ];
  await tick();
  release();
  await Promise.all([first, ...rest]);
  t.same(sends, [['a'], ['L1'], ['L2', 's'], ['XL']], 'never two large ones in one send; the one over the budget alone');
  t.ok(
    sends.every((keys) => keys.length === 1 || keys.filter((k) => k.startsWith('L') || k === 'XL').length <= 1),
    'no send holds more than one large record',
  );
  // Weighing scans a value of megabytes: a unit left for the next send must not be weighed again.
  t.same(weighed, ['a', 'L1', 'L2', 's', 'XL'], 'each record is weighed once');
});

t.test('a send that calls release() frees its slot: the next batch goes while it is in flight, and drain waits for both', async (t) => {
  const sends: string[][] = [];
  let end: () => void = () => {};
  let freeSlot: () => void = () => {};
  const b = new MicroBatcher<Message>(
    async (ms, release) => {
      sends.push(ms.map((m) => String(m.key)));
      if (sends.length === 1) {
        freeSlot = release;
        await new Promise<void>((r) => (end = r));
      }
    },
    { lingerMs: 0, maxBatch: 10, maxInFlight: 1, timeoutMs: 1000 },
  );
  let firstDone = false;
  const first = b.enqueue([msg('a')]).then(() => (firstDone = true));
  await tick();
  const second = b.enqueue([msg('b')]);
  await tick();
  t.same(sends, [['a']], 'held behind the first while it holds the slot');
  freeSlot();
  await second;
  t.same(sends, [['a'], ['b']], 'released: the second went, and was acknowledged, first');
  t.notOk(firstDone, 'the first still waits for its own send');
  freeSlot();
  await b.enqueue([msg('c')]);
  t.same(sends.length, 3, 'a second release() of the same send frees nothing more (maxInFlight still holds: one send at a time)');
  let drained = false;
  const draining = b.drain().then(() => (drained = true));
  await tick(5);
  t.notOk(drained, 'drain waits for the released send too');
  t.equal(b.pending, 1);
  end();
  await Promise.all([first, draining]);
  t.ok(firstDone && drained);
});
