import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { answers, sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { startOAuthProvider } from '../helpers/oauth-provider.js';
import { userNode } from '../helpers/user-node.js';
import { System } from './harness.js';

// A cluster that asks for TLS and SASL, as managed ones do (MSK, Confluent Cloud, Aiven): the
// test stack's brokers have a SASL_SSL listener (PLAIN, SCRAM-SHA-512 and OAUTHBEARER, a
// self-signed certificate; packages/stack/src/kafka-secure-listener.ts, kafka-oauth.ts). The
// OAuth provider's token endpoint is the test's. Production defaults for every timing.

const secure = {
  brokers: process.env.STACK_KAFKA_SECURE_BROKERS,
  caFile: process.env.STACK_KAFKA_SECURE_CA_FILE ?? '',
  username: process.env.STACK_KAFKA_SECURE_USERNAME ?? '',
  password: process.env.STACK_KAFKA_SECURE_PASSWORD ?? '',
  keyFile: process.env.STACK_KAFKA_SECURE_KEY_FILE ?? '',
};
const mtlsBrokers = process.env.STACK_KAFKA_MTLS_BROKERS ?? '';
const over = (mechanism: string, password = secure.password) => ({
  KAFKA_BROKERS: secure.brokers ?? '',
  KAFKA_SSL_CA_FILE: secure.caFile,
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: secure.username,
  KAFKA_SASL_PASSWORD: password,
});

t.test(
  '21. TLS and SASL to Kafka: the API (OAUTHBEARER, one client-credentials token) creates the topics, the mailer (PLAIN) and the dispatcher (SCRAM) join, 300 emails, 0 lost, 0 twice; the CLI reads the dead letters; a wrong password is said, not taken for an outage; a client certificate (defaults)',
  { skip: !secure.brokers && 'the test stack has no SASL_SSL listener (an external stack)' },
  async (t) => {
    const provider = await startOAuthProvider(t, { id: 'postline-api', secret: 'api-client-secret-0123' });
    const oauth = {
      ...over('oauthbearer'),
      KAFKA_SASL_USERNAME: 'postline-api',
      KAFKA_SASL_PASSWORD: 'api-client-secret-0123',
      KAFKA_SASL_OAUTHBEARER_TOKEN_URL: provider.url,
    };
    const system = await System.start(t, {
      mailers: 1,
      api: oauth,
      mailer: over('plain'),
      servicesCreateTopics: true,
    });
    await system.startWebhooks(over('scram-sha-512'));
    await system.load(4, { total: 300 }).finished;
    const s = await system.reconcile('Kafka over TLS + SASL (defaults)', 180_000);
    t.equal(s.accepted, 300);
    t.equal(s.lost, 0);
    t.equal(s.duplicated, 0);
    t.equal(provider.state.issued, 1, "one token served the API's every Kafka client and connection (it lives 300 s)");

    const cli = await promisify(execFile)(...userNode([join(repoRoot, 'packages/cli/dist/cli.js'), 'dlq', 'list', '--json']), {
      env: { ...process.env, ...over('scram-sha-512'), DEAD_LETTER_TOPIC: system.apiEnv.DEAD_LETTER_TOPIC! },
    });
    t.same(JSON.parse(cli.stdout), [], 'the CLI connects the same way (no dead letters)');

    // A mistyped password: the mailer keeps trying (credentials can be fixed without a restart,
    // as an outage can end), is never ready, and its log says the authentication failed.
    const wrong = await system.spawnMailer(over('plain', `${secure.password}x`));
    t.ok(await eventually(() => wrong.output().includes('SASL PLAIN authentication failed'), 60_000, 250), 'the log names the cause');
    await sleep(1_000);
    const port = system.mailerPorts.at(-1);
    t.notOk(await answers(`http://127.0.0.1:${port}/readyz`), 'not ready');
    t.equal(wrong.child.exitCode, null, 'still running: it waits as it does for an unreachable broker');

    // A cluster that authenticates clients by certificate (Aiven's default): the listener that
    // requires one. With it a mailer joins the group; without it, it never does.
    const mtls = {
      KAFKA_BROKERS: mtlsBrokers,
      KAFKA_SSL_CA_FILE: secure.caFile,
      KAFKA_SASL_MECHANISM: '',
      KAFKA_SASL_USERNAME: '',
      KAFKA_SASL_PASSWORD: '',
    };
    await system.startMailer(60_000, { ...mtls, KAFKA_SSL_CERT_FILE: secure.caFile, KAFKA_SSL_KEY_FILE: secure.keyFile });
    t.pass('a mailer with a client certificate joined the group');
    const spawned = Date.now();
    const anonymous = await system.spawnMailer(mtls);
    // Its log, waited for rather than read at a fixed time: how soon it boots on a busy host is not what this tests.
    const refused = await eventually(() => /Connection error: .*alert bad certificate/.test(anonymous.output()), 60_000);
    t.ok(refused, "its log says the broker's TLS refused it", { output: anonymous.output().slice(-3_000) });
    await sleep(10_000 - (Date.now() - spawned));
    t.notOk(await answers(`http://127.0.0.1:${system.mailerPorts.at(-1)}/readyz`), 'one without a certificate is not ready');
  },
);
