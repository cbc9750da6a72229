// test-plan: standalone
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import t from 'tap';
import { nextAttemptAt, RETRY_DELAYS_MS } from '../src/retry-schedule.js';
import { signature } from '../src/sign.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const headers = (id: string, ts: number, sig: string) => ({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sig });

t.test('signatures verify with the Standard Webhooks reference library, and only for the signed bytes', async (t) => {
  const key = secret();
  const body = JSON.stringify({ type: 'email.sent', timestamp: new Date().toISOString(), data: { emailId: 'e1', final: true } });
  const ts = Math.floor(Date.now() / 1000);
  const sig = signature([key], 'evt_1', ts, body);
  t.match(sig, /^v1,[A-Za-z0-9+/]+=*$/, 'v1,<base64>');
  t.same(new Webhook(key).verify(body, headers('evt_1', ts, sig)), JSON.parse(body), 'verified by standardwebhooks');
  t.throws(() => new Webhook(key).verify(`${body} `, headers('evt_1', ts, sig)), 'a changed body does not verify');
  t.throws(() => new Webhook(key).verify(body, headers('evt_2', ts, sig)), 'another webhook-id does not verify');
  t.throws(() => new Webhook(secret()).verify(body, headers('evt_1', ts, sig)), 'another secret does not verify');
  t.equal(sig, new Webhook(key).sign('evt_1', new Date(ts * 1000), body), 'the same bytes as the reference signer');
});

t.test('during a rotation both secrets sign, so a receiver with either verifies', async (t) => {
  const [oldKey, newKey] = [secret(), secret()];
  const ts = Math.floor(Date.now() / 1000);
  const sig = signature([newKey, oldKey], 'evt_9', ts, '{}');
  t.equal(sig.split(' ').length, 2);
  t.ok(new Webhook(oldKey).verify('{}', headers('evt_9', ts, sig)), 'the old secret verifies');
  t.ok(new Webhook(newKey).verify('{}', headers('evt_9', ts, sig)), 'the new secret verifies');
});

t.test('retries back off over more than 24 hours, then stop', async (t) => {
  const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
  t.ok(total * 0.9 >= 24 * 3600 * 1000, `${(total / 3600_000).toFixed(1)} h even with the lowest jitter`);
  const now = 1_000_000;
  for (let attempt = 1; attempt <= RETRY_DELAYS_MS.length; attempt++) {
    const at = nextAttemptAt(attempt, now)?.getTime() ?? 0;
    const base = RETRY_DELAYS_MS[attempt - 1] as number;
    t.ok(at >= now + base * 0.9 && at <= now + base * 1.1, `retry ${attempt} within ±10 % of ${base} ms`);
  }
  t.equal(nextAttemptAt(RETRY_DELAYS_MS.length + 1, now), null, 'no retry after the last');
});
