// test-plan: standalone
import type pg from 'pg';
import t from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { wallClock } from '../../../test/helpers/mock-clock.js';
import { EndpointCache } from '../src/endpoint-cache.js';

const rows = [
  { id: 'wh_a', account: 'shop', url: 'https://a.test/', events: ['*'], secrets: ['whsec_a'] },
  { id: 'wh_b', account: 'shop', url: 'https://b.test/', events: ['email.bounced'], secrets: ['whsec_b'] },
  { id: 'wh_c', account: 'other', url: 'https://c.test/', events: ['*'], secrets: ['whsec_c'] },
];

/** A cache over a fake pool that answers `rows`; `reads()` counts its reads. */
function countedCache() {
  let reads = 0;
  const db = {
    query: async () => {
      reads++;
      return { rows };
    },
  } as unknown as pg.Pool;
  return { cache: new EndpointCache(db), reads: () => reads };
}

t.test("an event goes only to its own account's endpoints that subscribed to its type", async (t) => {
  const { cache, reads } = countedCache();
  await cache.refresh();
  t.same(
    cache.subscribers('shop', 'email.sent').map((e) => e.id),
    ['wh_a'],
  );
  t.same(
    cache.subscribers('shop', 'email.bounced').map((e) => e.id),
    ['wh_a', 'wh_b'],
  );
  t.same(
    cache.subscribers('other', 'email.bounced').map((e) => e.id),
    ['wh_c'],
  );
  t.same(cache.subscribers('nobody', 'email.sent'), [], 'an account without endpoints gets nothing');
  await cache.refresh();
  t.equal(reads(), 1, 'read again at most once a second');
  await cache.refresh(true);
  t.equal(reads(), 2, 'unless forced (an endpoint was just disabled)');
});

t.test('the wall clock stepped back an hour: the list is still read again a second later', async (t) => {
  const wall = wallClock(t);
  const { cache, reads } = countedCache();
  await cache.refresh();
  // Measured on Date.now(), the list looked fresh for the hour: new endpoints got no events.
  wall.step(-3_600_000);
  await sleep(1_050);
  await cache.refresh();
  t.equal(reads(), 2, 'read again once a second had passed');
});
