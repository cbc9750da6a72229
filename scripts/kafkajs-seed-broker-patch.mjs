// The twelfth and thirteenth patches of scripts/patch-kafkajs.mjs: a client that connects while a
// broker does not answer tries another one, after connectionTimeout.
//
// kafkajs connects a client (producer, consumer, admin) through a seed broker, picked from
// KAFKA_BROKERS (postline gives it the list in a new order each time, packages/runtime/src/kafka-client.ts),
// and picks another only when the connection itself fails (refused, or not made within
// connectionTimeout). A broker that takes the connection and answers nothing (a frozen JVM, whose
// kernel still accepts connections; a path that drops packets after the handshake) times out its
// ApiVersions request instead, and kafkajs retried that on the same seed, again and again. And that
// request waited 30 s: kafkajs' broker asks for its handshake to time out after connectionTimeout (3 s
// here), but its request queue takes the larger of a request's own timeout and requestTimeout. Seen
// in e2e 27 (test/e2e/network-partition.test.ts, a mailer started while the mailers are cut off from
// one broker): 30 s, then 47 s (until the cut healed) in its Kafka boot step, in two runs; its
// producer, replaced after its 10 s connect deadline (producer-pool.ts), started over on a random
// seed. Kafka's Java client tries another bootstrap address when a request to one times out.
//
// Patched, a seed whose handshake timed out is passed over for another one (not itself again, nor
// one whose request of any client of this process timed out in the last minute), as a failed
// connection is; and the handshake times out after connectionTimeout, as kafkajs' broker asks
// (every other request keeps the larger of the two). The test
// (packages/runtime/test/kafkajs-seed-broker.test.ts) runs kafkajs' own BrokerPool and RequestQueue,
// patched and not.

export const SEED_TIMEOUT_PATCH_MARKER = 'postline: a seed broker that does not answer is passed over';
export const HANDSHAKE_TIMEOUT_PATCH_MARKER = 'postline: the ApiVersions handshake times out after connectionTimeout';

const ORIGINAL = `    if (!this.seedBroker) {
      await this.createSeedBroker()
    }

    return this.retrier(async (bail, retryCount, retryTime) => {
      try {
        await this.seedBroker.connect()
        this.versions = this.seedBroker.versions
      } catch (e) {
        if (e.name === 'KafkaJSConnectionError' || e.type === 'ILLEGAL_SASL_STATE') {
          // Connection builder will always rotate the seed broker
          await this.createSeedBroker()
`;

const PATCHED = `    // ${SEED_TIMEOUT_PATCH_MARKER} (postline's scripts/kafkajs-seed-broker-patch.mjs says why).
    // Another seed than \`silent\`, and than one whose request timed out in the last minute for any
    // client of this process (recentlyTimedOut: scripts/kafkajs-stalled-broker-patch.mjs), unless
    // four picks find none.
    const createAnsweringSeedBroker = async silent => {
      for (let tries = 0; tries < 4; tries++) {
        await this.createSeedBroker()
        const seed = this.seedBroker.connectionPool
        const same = silent && seed.host === silent.host && seed.port === silent.port
        if (!same && !this.recentlyTimedOut(seed)) return
      }
    }

    if (!this.seedBroker) {
      await createAnsweringSeedBroker(null)
    }

    return this.retrier(async (bail, retryCount, retryTime) => {
      try {
        await this.seedBroker.connect()
        this.versions = this.seedBroker.versions
      } catch (e) {
        if (e.name === 'KafkaJSRequestTimeoutError') {
          await createAnsweringSeedBroker(this.seedBroker.connectionPool)
          this.logger.error(
            \`Failed to connect to seed broker, trying another broker from the list: \${e.message}\`,
            { retryCount, retryTime }
          )
        } else if (e.name === 'KafkaJSConnectionError' || e.type === 'ILLEGAL_SASL_STATE') {
          // Connection builder will always rotate the seed broker
          await this.createSeedBroker()
`;

export const SEED_TIMEOUT_PATCH = {
  file: 'src/cluster/brokerPool.js',
  original: ORIGINAL,
  patched: PATCHED,
  marker: SEED_TIMEOUT_PATCH_MARKER,
};

const HANDSHAKE_ORIGINAL = `    const requestTimeout = Math.max(defaultRequestTimeout, customRequestTimeout || 0)
`;

const HANDSHAKE_PATCHED = `    // ${HANDSHAKE_TIMEOUT_PATCH_MARKER} (postline's scripts/kafkajs-seed-broker-patch.mjs says why).
    const requestTimeout =
      pushedRequest.entry.apiName === 'ApiVersions' && customRequestTimeout
        ? customRequestTimeout
        : Math.max(defaultRequestTimeout, customRequestTimeout || 0)
`;

export const HANDSHAKE_TIMEOUT_PATCH = {
  file: 'src/network/requestQueue/index.js',
  original: HANDSHAKE_ORIGINAL,
  patched: HANDSHAKE_PATCHED,
  marker: HANDSHAKE_TIMEOUT_PATCH_MARKER,
};
