import t from 'tap';
import { retryDelayMs } from '../src/backoff.js';
import { CircuitBreaker } from '../src/circuit-breaker.js';
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

t.test('the circuit breaker opens longer on each failure and closes on success', async (t) => {
  let now = 0;
  const b = new CircuitBreaker(500, 4000, () => now);
  t.equal(b.waitMs, 0);
  b.failure();
  t.equal(b.waitMs, 500);
  b.failure();
  t.equal(b.waitMs, 1000);
  b.failure();
  b.failure();
  b.failure();
  t.equal(b.waitMs, 4000, 'capped');
  now += 4000;
  t.equal(b.waitMs, 0);
  b.success();
  b.failure();
  t.equal(b.waitMs, 500, 'reset by a success');
});

t.test('config: SMTP timeouts must stay well under the session timeout; production needs MESSAGE_ID_DOMAIN', async (t) => {
  const base = { KAFKA_BROKERS: 'a:9092', DATABASE_URL: 'postgres://x/y', SMTP_URL: 'smtp://h:25' };
  t.match(loadConfig(base), { MAX_ATTEMPTS: 8, SMTP_POOL_SIZE: 5, MESSAGE_ID_DOMAIN: 'postline.localhost' });
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
