// test-plan: standalone
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { z } from 'zod';
import { ConfigError } from '../src/config-error.js';
import { parseEnv } from '../src/env.js';
import { kafkaConnection, kafkaConnectionFields } from '../src/kafka-connection.js';

const schema = z.object(kafkaConnectionFields);
const connect = (env: Record<string, string>) => kafkaConnection(parseEnv(schema, { KAFKA_BROKERS: 'b1:9092,b2:9092', ...env }));

t.test('brokers alone: no TLS, no SASL (the local stack, compose, Kubernetes as shipped)', async (t) => {
  t.same(connect({}), { brokers: ['b1:9092', 'b2:9092'] });
  t.same(connect({ KAFKA_SSL: 'false' }), { brokers: ['b1:9092', 'b2:9092'] });
});

t.test("TLS against the system's CAs, or a given bundle; SASL with either mechanism", async (t) => {
  t.same(connect({ KAFKA_SSL: 'true' }), { brokers: ['b1:9092', 'b2:9092'], ssl: true });
  const dir = mkdtempSync(join(tmpdir(), 'kafka-ca-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  t.same(
    connect({ KAFKA_SSL_CA_FILE: ca }).ssl,
    { ca: ['-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n'] },
    'a CA file implies TLS',
  );
  const user = { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
  t.same(connect({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', ...user }).sasl, { mechanism: 'plain', username: 'u', password: 'p' });
  t.same(connect({ KAFKA_SASL_MECHANISM: 'scram-sha-512', ...user }), {
    brokers: ['b1:9092', 'b2:9092'],
    sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
  });
});

t.test('OAUTHBEARER: TLS, a token endpoint (https, or http to this host), the client id and secret', async (t) => {
  const env = { KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_USERNAME: 'id', KAFKA_SASL_PASSWORD: 's' };
  for (const url of ['https://idp.example.com/oauth2/token', 'http://127.0.0.1:8080/token', 'http://localhost/token']) {
    const sasl = connect({ ...env, KAFKA_SASL_OAUTHBEARER_TOKEN_URL: url }).sasl as { mechanism: string; authenticationProvider?: unknown };
    t.equal(sasl.mechanism, 'oauthbearer', url);
    t.type(sasl.authenticationProvider, 'function', "ours, not kafkajs' (kafka-oauthbearer.ts)");
    t.notOk('password' in sasl, 'the secret is not handed to kafkajs');
  }
});

t.test('a combination that cannot work is one sentence naming the settings', async (t) => {
  const refused = (env: Record<string, string>, pattern: RegExp) => {
    let error: unknown;
    try {
      connect(env);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof ConfigError, JSON.stringify(env));
    t.match((error as Error | undefined)?.message, pattern);
  };
  refused(
    { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
    /plain sends the password in the clear; set KAFKA_SSL=true/,
  );
  refused({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' }, /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
  refused({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, /need KAFKA_SASL_MECHANISM/);
  refused({ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: '/x.pem' }, /KAFKA_SSL_CA_FILE set but KAFKA_SSL is false/);
  refused({ KAFKA_SSL_CERT_FILE: '/c.pem' }, /KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together/);
  refused(
    { KAFKA_SSL_CERT_FILE: '/nonexistent/c.pem', KAFKA_SSL_KEY_FILE: '/k.pem' },
    /KAFKA_SSL_CERT_FILE: cannot read \/nonexistent\/c\.pem \(ENOENT\)/,
  );
  refused({ KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, /KAFKA_SSL_CA_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/);
  refused({ KAFKA_SASL_MECHANISM: 'gssapi' }, /KAFKA_SASL_MECHANISM: must be plain, scram-sha-256, scram-sha-512 or oauthbearer/);
  const oauth = { KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_USERNAME: 'id', KAFKA_SASL_PASSWORD: 's' };
  refused(oauth, /oauthbearer sends its token in the clear; set KAFKA_SSL=true/);
  refused({ ...oauth, KAFKA_SSL: 'true' }, /oauthbearer needs KAFKA_SASL_OAUTHBEARER_TOKEN_URL/);
  refused(
    { ...oauth, KAFKA_SSL: 'true', KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'http://idp.example.com/token' },
    /KAFKA_SASL_OAUTHBEARER_TOKEN_URL sends the client secret in the clear; use https/,
  );
  refused(
    { ...oauth, KAFKA_SSL: 'true', KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'ftp://idp.example.com/token' },
    /TOKEN_URL: must be an http\(s\) URL/,
  );
  refused(
    { KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SSL: 'true', KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token' },
    /oauthbearer needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD \(the OAuth client id and secret\)/,
  );
  refused(
    { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka' },
    /KAFKA_SASL_OAUTHBEARER_TOKEN_URL and KAFKA_SASL_OAUTHBEARER_SCOPE need KAFKA_SASL_MECHANISM oauthbearer/,
  );
  refused({ KAFKA_SSL: 'yes' }, /KAFKA_SSL: must be true or false/);
});
