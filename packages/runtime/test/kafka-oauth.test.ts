import { logLevel } from 'kafkajs';
import t from 'tap';
import { quietLogger, sleep, uniqueName, waitUntil } from '../../../test/helpers/env.js';
import { startOAuthProvider } from '../../../test/helpers/oauth-provider.js';
import { createKafka } from '../src/kafka-client.js';
import { kafkaConnection } from '../src/kafka-connection.js';
import { createLogger } from '../src/logger.js';

// SASL OAUTHBEARER against the test brokers' SASL_SSL listener, which checks a token's RS256
// signature against the stack's JWKS, its expiry and its audience (packages/stack/src/kafka-oauth.ts).
// The token endpoint is the test's (test/helpers/oauth-provider.ts). Every Kafka client of the
// services is made from `kafkaConnection`, so this is the path the API, the mailer, the dispatcher
// and the CLI take (e2e 21 runs the API through it).

const brokers = process.env.STACK_KAFKA_SECURE_BROKERS;
const CLIENT = { id: 'postline-api', secret: 'client-secret-0123456789' };

async function connectWith(tokenUrl: string, secret = CLIENT.secret) {
  const connection = kafkaConnection({
    KAFKA_BROKERS: (brokers ?? '').split(','),
    KAFKA_SSL_CA_FILE: process.env.STACK_KAFKA_SECURE_CA_FILE,
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_USERNAME: CLIENT.id,
    KAFKA_SASL_PASSWORD: secret,
    KAFKA_SASL_OAUTHBEARER_TOKEN_URL: tokenUrl,
  });
  const admin = createKafka({ ...connection, clientId: 'oauth-test', logger: quietLogger, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    return { brokers: (await admin.describeCluster()).brokers.length };
  } catch (error) {
    return { error: error as Error };
  } finally {
    await admin.disconnect();
  }
}

t.test(
  'OAUTHBEARER: a token from the client-credentials grant is taken by the brokers; a wrong audience or secret is refused and said',
  { skip: !brokers && 'the test stack has no SASL_SSL listener (an external stack)' },
  async (t) => {
    const provider = await startOAuthProvider(t, CLIENT);
    const ok = await connectWith(provider.url);
    t.notOk(ok.error, `connected (${ok.error?.message ?? 'no error'})`);
    t.equal(ok.brokers, 3, 'and read the metadata: three brokers');
    t.equal(provider.state.issued, 1, 'one token for every connection of the client (bootstrap and brokers)');

    const stranger = await startOAuthProvider(t, CLIENT, { audience: 'another-cluster' });
    const refused = await connectWith(stranger.url);
    t.match(
      refused.error?.message,
      /SASL OAUTHBEARER authentication failed: broker 127\.0\.0\.1:\d+ refused the token \(invalid_token\)/,
      "a token for another audience: the broker refuses it, and that is said (kafkajs' own took it for a login)",
    );

    const wrong = await connectWith(provider.url, 'not-the-secret');
    t.match(
      wrong.error?.message,
      /OAuth token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token answered 401: invalid_client/,
      'a wrong secret: the endpoint said so',
    );
    t.notMatch(wrong.error?.message, /not-the-secret/);
  },
);

t.test(
  'a session ends with its token: the producer re-authenticates its open connections with renewed tokens and every send is taken',
  { skip: !brokers && 'the test stack has no SASL_SSL listener (an external stack)' },
  async (t) => {
    // Tokens of 20 s (renewed 15 s before they expire), over 30 s: each connection's session,
    // which the brokers end when its token expires, must be renewed on the connection, or the
    // broker closes it and kafkajs opens another (then authentications equal connections).
    const provider = await startOAuthProvider(t, CLIENT, { lifetimeS: 20 });
    const lines: { kafkaMessage?: string; broker?: string }[] = [];
    const logger = createLogger({ name: 'oauth-reauth', level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const connection = kafkaConnection({
      KAFKA_BROKERS: (brokers ?? '').split(','),
      KAFKA_SSL_CA_FILE: process.env.STACK_KAFKA_SECURE_CA_FILE,
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_USERNAME: CLIENT.id,
      KAFKA_SASL_PASSWORD: CLIENT.secret,
      KAFKA_SASL_OAUTHBEARER_TOKEN_URL: provider.url,
    });
    const kafka = createKafka({ ...connection, clientId: 'oauth-reauth', logger, logLevel: logLevel.DEBUG });
    const topic = uniqueName('oauth-reauth');
    const admin = kafka.admin();
    await admin.connect();
    t.teardown(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: false });
    const led = await waitUntil(async () => {
      const partitions = (await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null))?.topics[0]?.partitions ?? [];
      return partitions.length === 3 && partitions.every((p) => p.leader >= 0);
    }, 30_000);
    t.ok(led, 'the topic has its leaders');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    let failed = 0;
    const started = Date.now();
    for (let i = 0; Date.now() - started < 30_000; i++) {
      await producer.send({ topic, acks: -1, messages: [{ value: `m${i}` }] }).catch(() => failed++);
      await sleep(500);
    }
    t.equal(failed, 0, 'every send was acknowledged');
    const count = (message: string) => lines.filter((l) => l.kafkaMessage === message).length;
    const connects = count('Connecting');
    const logins = count('SASL OAUTHBEARER authenticated');
    t.ok(provider.state.issued >= 3, `tokens renewed (${provider.state.issued} issued in 30 s)`);
    t.ok(logins >= connects + 4, `sessions renewed on open connections: ${logins} authentications over ${connects} connections`);
  },
);
