// test-plan: standalone
import t from 'tap';
import { KeyRateLimiter } from '../src/plugins/rate-limit.js';

type Reply = Parameters<KeyRateLimiter['take']>[2];

function fakeReply(): Reply & { headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = {};
  const header = (k: string, v: unknown) => {
    headers[k] = v;
  };
  return { headers, header } as unknown as Reply & { headers: Record<string, unknown> };
}

t.test('fixed one-minute windows per account', async (t) => {
  let now = 120_000;
  const l = new KeyRateLimiter(5, () => now);
  const r = fakeReply();
  l.take('a', 3, r);
  t.equal(r.headers['RateLimit-Remaining'], 2);
  t.equal(r.headers['RateLimit-Reset'], 60);
  t.throws(() => l.take('a', 3, fakeReply()), { code: 'EMAIL_ERR_RATE_LIMITED' });
  l.take('b', 5, fakeReply());
  now += 60_000;
  l.take('a', 5, fakeReply());
  t.pass('a new window has the full budget');
});
