// test-plan: standalone
import t, { type Test } from 'tap';
import { sleep } from '../../../test/helpers/env.js';
import { mockClock, wallClock } from '../../../test/helpers/mock-clock.js';
import { retryDelayMs } from '../src/backoff.js';
import { SmtpBreaker } from '../src/circuit-breaker.js';
import { loadConfig } from '../src/config.js';
import { classifySmtpError } from '../src/smtp-outcome.js';

t.test('classifying SMTP failures', async (t) => {
  t.equal(classifySmtpError({ responseCode: 421, response: '421 busy' }, false).kind, 'transient');
  t.equal(classifySmtpError({ responseCode: 451, response: '451 later' }, true).kind, 'transient', 'a reply is a reply, even after DATA');
  t.equal(classifySmtpError({ responseCode: 550, response: '550 no such user' }, false).kind, 'permanent');
  t.equal(classifySmtpError({ code: 'EENVELOPE', responseCode: 553 }, false).kind, 'permanent');
  t.equal(classifySmtpError({ code: 'ECONNECTION', command: 'CONN', originalCode: 'ECONNREFUSED' }, false).kind, 'unavailable');
  t.equal(classifySmtpError({ code: 'ETIMEDOUT' }, false).kind, 'transient');
  t.equal(classifySmtpError({ code: 'ETIMEDOUT' }, true).kind, 'uncertain', 'no reply after the message was handed over');
  t.equal(classifySmtpError({ code: 'ECONNECTION' }, true).kind, 'uncertain');
  t.equal(classifySmtpError({ code: 'EMESSAGE' }, false).kind, 'permanent');
  t.equal(classifySmtpError({ code: 'EABORT', name: 'AbortError' }, false).kind, 'transient', 'the send deadline before DATA');
  t.equal(classifySmtpError({ code: 'EABORT', name: 'AbortError' }, true).kind, 'uncertain', 'the send deadline after DATA began');
  t.equal(classifySmtpError({ code: 'ESTREAM' }, false).kind, 'transient', 'a local stream error is never the email’s fault');
});

t.test('backoff doubles, caps, and jitters ±20 %', async (t) => {
  t.equal(
    retryDelayMs(1, 1000, 60_000, () => 0.5),
    1000,
  );
  t.equal(
    retryDelayMs(4, 1000, 60_000, () => 0.5),
    8000,
  );
  t.equal(
    retryDelayMs(20, 1000, 60_000, () => 0.5),
    60_000,
  );
  t.equal(
    retryDelayMs(1, 1000, 60_000, () => 0),
    800,
  );
  t.equal(
    retryDelayMs(1, 1000, 60_000, () => 1),
    1200,
  );
  // Defaults: 8 attempts spread over about two hours.
  const total = Array.from({ length: 7 }, (_, i) => retryDelayMs(i + 1, 30_000, 3_600_000, () => 0.5)).reduce((a, b) => a + b, 0);
  t.ok(total > 3_600_000 && total < 4 * 3_600_000, `${Math.round(total / 60_000)} minutes`);
});

type Fake = { down: boolean };
const outage = (r: Fake) => r.down;
// The breaker's pauses are time (its own clock, given here as the mock Date, and cockatiel's Date.now()), so
// its tests run on node:test's mock clock: on the real one a busy CI machine can stall the loop past a tolerance.
const clock = (t: Test) => mockClock(t, ['setTimeout', 'Date']);

t.test('the circuit breaker counts one outage once, however many sends fail together', async (t) => {
  clock(t);
  const b = new SmtpBreaker(outage, 200, 1_600, () => Date.now());
  // 20 concurrent sends all fail in the same outage.
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const runs = Array.from({ length: 20 }, () => b.execute(async () => (await gate, { down: true })));
  release();
  const results = await Promise.all(runs);
  t.ok(
    results.every((r) => 'result' in r),
    'the sends already under way all complete',
  );
  t.equal(b.state, 'open');
  t.equal(b.waitMs, 200, 'the first pause is the minimum, not 20 doublings');
  t.match(await b.execute(async () => ({ down: false })), { wait: Number }, 'while open nothing is sent');
});

t.test('the circuit breaker probes once when half-open, doubles its pause on a failed probe, and closes on a good one', async (t) => {
  const sleep = clock(t).advance;
  const b = new SmtpBreaker(outage, 100, 400, () => Date.now());
  await b.execute(async () => ({ down: true }));
  t.ok(b.waitMs > 0, 'open: wait');
  await sleep(110);
  t.equal(b.waitMs, 0, 'the pause is over: a record may go ahead and become the probe');
  let calls = 0;
  let finishProbe!: (r: Fake) => void;
  const probe = b.execute(
    () =>
      new Promise<Fake>((r) => {
        calls++;
        finishProbe = r;
      }),
  );
  await sleep(5);
  t.equal(b.state, 'half-open');
  t.equal(b.waitMs, 500, 'while the probe is out, the others wait');
  t.match(await b.execute(async () => (calls++, { down: false })), { wait: 500 }, 'a second send waits for the probe');
  t.equal(calls, 1, 'only the probe went out');
  finishProbe({ down: true });
  await probe;
  t.equal(b.waitMs, 200, 'a failed probe doubles the pause');
  await sleep(210);
  await b.execute(async () => ({ down: true }));
  t.equal(b.waitMs, 400, 'and again, up to the maximum');
  await sleep(410);
  await b.execute(async () => ({ down: true }));
  t.equal(b.waitMs, 400, 'capped');
  await sleep(410);
  t.match(await b.execute(async () => ({ down: false })), { result: { down: false } });
  t.equal(b.state, 'closed', 'one good probe closes it');
  t.equal(b.waitMs, 0);
  await b.execute(async () => ({ down: true }));
  t.equal(b.waitMs, 100, 'after closing, the curve starts again from the minimum');
});

t.test(
  'the wall clock stepped back an hour while open: the pause ends on time, the next send is the probe, a failed one doubles it',
  async (t) => {
    const wall = wallClock(t);
    const b = new SmtpBreaker(outage, 1_000, 4_000);
    await b.execute(async () => ({ down: true }));
    t.equal(b.state, 'open');
    // cockatiel times its pause on Date.now(): on its own it stayed open for the hour as well.
    wall.step(-3_600_000);
    await sleep(1_100);
    t.equal(b.waitMs, 0, 'the pause is over');
    let calls = 0;
    t.match(await b.execute(async () => (calls++, { down: true })), { result: { down: true } }, 'the next send went out as the probe');
    t.equal(calls, 1);
    t.ok(b.waitMs > 1_000 && b.waitMs <= 2_000, `the failed probe doubled the pause (${b.waitMs} ms)`);
    await sleep(2_100);
    t.match(await b.execute(async () => ({ down: false })), { result: { down: false } });
    t.equal(b.state, 'closed', 'one good probe closes it');
  },
);

t.test('config: SMTP timeouts must stay well under the session timeout; production needs MESSAGE_ID_DOMAIN', async (t) => {
  const base = { NODE_ENV: 'development', KAFKA_BROKERS: 'a:9092', DATABASE_URL: 'postgres://x/y', SMTP_URL: 'smtp://h:25' };
  t.match(loadConfig(base), { MAX_ATTEMPTS: 8, SMTP_POOL_SIZE: 5, MESSAGE_ID_DOMAIN: 'postline.localhost' });
  for (const env of [undefined, 'prod', 'staging']) {
    const e = { ...base, NODE_ENV: env };
    t.throws(() => loadConfig(e), /MESSAGE_ID_DOMAIN .* and SENDER_DOMAINS must be set/, `fails closed with NODE_ENV=${env}`);
    t.throws(() => loadConfig({ ...e, MESSAGE_ID_DOMAIN: 'm.example.com' }), /SENDER_DOMAINS/, 'the allowlist is required too');
  }
  t.match(loadConfig({ ...base, NODE_ENV: 'production', MESSAGE_ID_DOMAIN: 'm.example.com', SENDER_DOMAINS: 'Example.com' }).policy, {
    senderDomains: ['example.com'],
    maxRecipients: 50,
  });
  t.throws(() => loadConfig({ ...base, SMTP_TIMEOUT_MS: '20000', SESSION_TIMEOUT_MS: '30000' }), /SMTP_TIMEOUT_MS/);
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production' }), /MESSAGE_ID_DOMAIN/);
  t.match(loadConfig(base), { SEND_TIMEOUT_MS: 45_000, CLAIM_TTL_MS: 60_000, STALL_TIMEOUT_MS: 300_000, STUCK_AFTER_MS: 900_000 });
  t.throws(
    () => loadConfig({ ...base, SEND_TIMEOUT_MS: '60000' }),
    /SEND_TIMEOUT_MS must be .* below CLAIM_TTL_MS/,
    'a claim could expire mid-send',
  );
  t.throws(() => loadConfig({ ...base, SEND_TIMEOUT_MS: '9000' }), /SEND_TIMEOUT_MS must be above SMTP_TIMEOUT_MS/);
  t.throws(() => loadConfig({ ...base, STALL_TIMEOUT_MS: '45000' }), /STALL_TIMEOUT_MS must be above SEND_TIMEOUT_MS/);
  t.throws(() => loadConfig({ ...base, SMTP_URL: 'http://x' }), /SMTP_URL/);
  t.not(loadConfig(base).MAILER_ID, loadConfig(base).MAILER_ID, 'every process its own claim identity');
});
