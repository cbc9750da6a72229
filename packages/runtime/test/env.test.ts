// test-plan: standalone
import t from 'tap';
import { z } from 'zod';
import { ConfigError, fields, parseEnv } from '../src/index.js';

const schema = z.object({ KAFKA_BROKERS: fields.kafkaBrokers, PORT: fields.port.default(3000), LOG_LEVEL: fields.logLevel });

t.test('parses and applies defaults; empty strings count as unset', async (t) => {
  const c = parseEnv(schema, { KAFKA_BROKERS: 'a:9092, b:9093', PORT: '', LOG_LEVEL: 'debug' });
  t.same(c, { KAFKA_BROKERS: ['a:9092', 'b:9093'], PORT: 3000, LOG_LEVEL: 'debug' });
});

t.test('one readable sentence naming every bad variable', async (t) => {
  const error = t.throws(() => parseEnv(schema, { KAFKA_BROKERS: 'localhost', PORT: '99999', LOG_LEVEL: 'loud' })) as Error;
  t.type(error, ConfigError);
  t.match(error.message, /^Invalid configuration — KAFKA_BROKERS: must be a comma-separated list of host:port/);
  t.match(error.message, /PORT: /);
  t.match(error.message, /LOG_LEVEL: /);
  t.notMatch(error.message, /\n/, 'one line');
});

t.test('broker ports must be real ports', async (t) => {
  t.throws(() => parseEnv(schema, { KAFKA_BROKERS: 'a:70000' }), ConfigError);
  t.throws(() => parseEnv(schema, { KAFKA_BROKERS: ',' }), ConfigError);
});

t.test('a missing required variable is called missing', async (t) => {
  const error = t.throws(() => parseEnv(schema, {})) as Error;
  t.equal(error.message, 'Invalid configuration — KAFKA_BROKERS is required.');
});

t.test('a number that is not one is called so in words, not as zod\'s "received NaN"', async (t) => {
  const numbers = z.object({ PORT: fields.port.default(3000), POOL: fields.positiveInt.default(5), GAP: fields.commitIntervalMs });
  const error = t.throws(() => parseEnv(numbers, { PORT: 'abc', POOL: '2.5', GAP: '-1' })) as Error;
  t.equal(error.message, 'Invalid configuration — PORT: must be a whole number; POOL: must be a whole number; GAP: must be 0 or more.');
  t.equal(
    (t.throws(() => parseEnv(numbers, { PORT: '70000', POOL: '0' })) as Error).message,
    'Invalid configuration — PORT: must be a port number, 0 to 65535; POOL: must be 1 or more.',
  );
  t.same(parseEnv(numbers, { PORT: ' 8080 ', POOL: '3', GAP: '0' }), { PORT: 8080, POOL: 3, GAP: 0 });
});
