// test-plan: standalone
import { ConfigError } from '@postline/runtime';
import t from 'tap';
import { loadConfig } from '../src/config.js';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', DATABASE_URL: 'postgres://u:p@h/db' };

t.test('development defaults: a dev key and example sender domains, bound to loopback', async (t) => {
  const c = loadConfig({ ...base, NODE_ENV: 'development' });
  t.same(loadConfig({ ...base, NODE_ENV: 'test' }).SENDER_DOMAINS, ['example.com', 'example.test', 'localhost']);
  t.equal(c.usingDevDefaults, true);
  t.equal(c.HOST, '127.0.0.1');
  t.equal(c.PORT, 3000);
  t.same(
    c.API_KEYS.map((k) => k.name),
    ['dev'],
  );
});

t.test('fail closed: any NODE_ENV but development or test, unset included, needs API_KEYS and SENDER_DOMAINS', async (t) => {
  for (const env of [undefined, 'prod', 'staging', 'Production', 'dev', '']) {
    t.throws(
      () => loadConfig({ ...base, ...(env === undefined ? {} : { NODE_ENV: env }) }),
      /API_KEYS and SENDER_DOMAINS must be set/,
      `NODE_ENV=${env}`,
    );
  }
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'prod', API_KEYS: 'a:short-secret', SENDER_DOMAINS: 'example.com' }), /24 characters/);
});

t.test('production refuses to start without API_KEYS and SENDER_DOMAINS', async (t) => {
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production' }), ConfigError);
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production', API_KEYS: 'a:0123456789abcdef0123456789' }), ConfigError);
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production', SENDER_DOMAINS: 'example.com' }), ConfigError);
  t.throws(
    () => loadConfig({ ...base, NODE_ENV: 'production', API_KEYS: 'a:short-secret', SENDER_DOMAINS: 'example.com' }),
    /24 characters/,
  );
  const c = loadConfig({
    ...base,
    NODE_ENV: 'production',
    API_KEYS: 'a:0123456789abcdef0123456789,b:abcdefghijklmnopqrstuvwxyz',
    SENDER_DOMAINS: 'Example.com, mail.example.org',
  });
  t.same(
    c.API_KEYS.map((k) => k.name),
    ['a', 'b'],
  );
  t.same(c.SENDER_DOMAINS, ['example.com', 'mail.example.org']);
  t.equal(c.HOST, '0.0.0.0');
});

t.test('malformed keys are named', async (t) => {
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'development', API_KEYS: 'no-colon-here' }), /API_KEYS/);
});

t.test('BODY_BYTES_IN_FLIGHT: at least the largest body allowed, or the largest body could never be held', async (t) => {
  const dev = { ...base, NODE_ENV: 'development' };
  t.equal(loadConfig(dev).BODY_BYTES_IN_FLIGHT, 24 * 1024 * 1024, 'default: 24 MiB');
  t.throws(
    () => loadConfig({ ...dev, BODY_BYTES_IN_FLIGHT: String(5 * 1024 * 1024 - 1) }),
    /BODY_BYTES_IN_FLIGHT.*5242880/,
    'SUBMISSION_MAX_BYTES counts',
  );
  const off = { ...dev, SUBMISSION_PORT: 'off' };
  t.throws(() => loadConfig({ ...off, BODY_BYTES_IN_FLIGHT: String(4 * 1024 * 1024 - 1) }), /4194304/, 'BODY_LIMIT_BYTES counts');
  t.equal(loadConfig({ ...off, BODY_BYTES_IN_FLIGHT: String(4 * 1024 * 1024) }).BODY_BYTES_IN_FLIGHT, 4 * 1024 * 1024);
});

t.test('DATABASE_POOL_SIZE: the connections each service may hold of Postgres (README, "How many connections")', async (t) => {
  const dev = { ...base, NODE_ENV: 'development' };
  t.equal(loadConfig(dev).DATABASE_POOL_SIZE, 10);
  t.equal(loadConfig({ ...dev, DATABASE_POOL_SIZE: '4' }).DATABASE_POOL_SIZE, 4);
  t.throws(() => loadConfig({ ...dev, DATABASE_POOL_SIZE: '1' }), /DATABASE_POOL_SIZE: must be 2 or more/);
  t.throws(() => loadConfig({ ...dev, DATABASE_POOL_SIZE: 'many' }), /DATABASE_POOL_SIZE: must be a whole number/);
  const { loadConfig: mailer } = await import('../../mailer/src/config.js');
  const mailerBase = { ...base, NODE_ENV: 'development', SMTP_URL: 'smtp://127.0.0.1:1' };
  t.equal(mailer(mailerBase).DATABASE_POOL_SIZE, 10, 'the mailer: 10, whatever PARTITION_CONCURRENCY × SENDS_PER_PARTITION');
  t.equal(mailer({ ...mailerBase, PARTITION_CONCURRENCY: '12', SENDS_PER_PARTITION: '8' }).DATABASE_POOL_SIZE, 10);
  const { loadConfig: webhooks } = await import('../../webhooks/src/config.js');
  t.equal(webhooks({ ...base, NODE_ENV: 'development' }).DATABASE_POOL_SIZE, 10);
  const { loadConfig: bounces } = await import('../src/bounces/config.js');
  t.equal(bounces({ DATABASE_URL: base.DATABASE_URL, NODE_ENV: 'development' }).DATABASE_POOL_SIZE, 5);
});
