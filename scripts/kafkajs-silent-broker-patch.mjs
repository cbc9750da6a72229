// The eighth to tenth patches of scripts/patch-kafkajs.mjs: a consumer or producer whose broker
// stops answering follows the cluster to the brokers that took its work.
//
// A broker can stop answering without closing anything: a host that lost power, a frozen JVM, a
// network that drops its packets. Each request to it ends at kafkajs' 30 s request timeout, and the
// cluster fences it (9 s in KRaft) and moves its partitions and the group coordination it held to
// the others. kafkajs' consumer learns of neither:
// - it reads the metadata (which broker leads which partition) when it is older than metadataMaxAge
//   (5 minutes), or after a connection closed or a broker answered "not the leader": a fetch that
//   timed out restarts its fetchers on the same metadata, and they ask the same broker again;
// - it looks its group coordinator up only when it joins: a heartbeat that timed out is thrown, the
//   runner restarts its fetchers, and heartbeats the same broker again, until its retries run out
//   (10, each a request timeout or two) and the consumer restarts.
// And each fetcher restart waits for the fetch in flight to the silent broker, so every partition
// stood still for most of each 30 s. e2e 26 (test/e2e/coordinator-loss.test.ts, the broker that
// coordinates the mailer's group frozen under load) saw 2 to 5 accepted emails not sent 140 s after
// it froze in two runs of four, with one fetch a broker every 30 s after the first minute. Kafka's
// Java client drops a connection whose request timed out, asks for metadata anew, and marks its
// coordinator unknown and looks it up again.
//
// Patched:
// - a fetch that timed out takes that broker out of the consumer's broker pool (as kafkajs does for
//   a closed connection), so the next fetch reads the metadata from one of the others, and the
//   fetchers follow the partitions to their new leaders. Its connection is closed unless it is the
//   group coordinator's (whose heartbeats are below). A broker still in the metadata (cut off from
//   this client alone, e2e 25) is asked again over a new connection. Only a timeout counts: it is
//   paced by itself (30 s), where a refused connection comes back at once and kafkajs' retries
//   pace it;
// - a heartbeat that timed out asks another broker which one coordinates the group now. Another
//   one: the old one leaves the pool and its connection is closed, and the heartbeat fails as "not
//   the coordinator" would, which makes the runner join the group again, through the new
//   coordinator. The same one (the cluster still sees it; this client alone is cut off from it):
//   the timeout stands, as before (scripts/kafkajs-heartbeat-patch.mjs), and the pool is left
//   alone (a pool that changes restarts the fetchers, and a restart waits for a fetch in flight to
//   the cut broker: e2e 25 saw 28.8 s without a delivery in one of two runs of a version whose
//   heartbeat took it out). Asked of kafkajs' pool, the look-up went to a broker at random, the
//   silent one too, and so did the join's look-up and the group leader's metadata read: e2e 26's
//   webhook dispatcher waited 30 s on it for each and had not joined again 75 s after the last
//   email was out.
// - a produce that timed out takes its broker out of the producer's pool and reads the metadata
//   anew before kafkajs retries it (as it does for a closed connection), so the retry goes to the
//   partitions' new leaders. kafkajs retried it on the same metadata, to the same broker: e2e 26's
//   outbox relay had events waiting until the broker came back (75 s), and the API's sends to its
//   partitions were abandoned after 60 s. The retry is the same idempotent batch (same producer id
//   and sequence numbers), so a batch the silent leader had replicated before it froze is known
//   to the new leader as a duplicate, not written twice.
//
// The test (packages/runtime/test/kafkajs-silent-broker.test.ts) runs kafkajs' own ConsumerGroup
// and producer send code, patched, over a cluster the test stands in for.

export const FETCH_TIMEOUT_PATCH_MARKER = 'postline: a fetch a broker did not answer reads the metadata again';
export const COORDINATOR_TIMEOUT_PATCH_MARKER = 'postline: a heartbeat the coordinator did not answer looks the coordinator up';
export const PRODUCE_TIMEOUT_PATCH_MARKER = 'postline: a produce a broker did not answer reads the metadata again';

const FILE = 'src/consumer/consumerGroup.js';

const FETCH_ORIGINAL = `    if (e.name === 'KafkaJSBrokerNotFound' || e.name === 'KafkaJSConnectionClosedError') {
      this.logger.debug(\`\${e.message}, refreshing metadata and retrying...\`)
      await this.cluster.refreshMetadata()
      return
    }

    throw e
  }
`;

const FETCH_PATCHED = `    if (e.name === 'KafkaJSBrokerNotFound' || e.name === 'KafkaJSConnectionClosedError') {
      this.logger.debug(\`\${e.message}, refreshing metadata and retrying...\`)
      await this.cluster.refreshMetadata()
      return
    }

    // ${FETCH_TIMEOUT_PATCH_MARKER} (postline's scripts/kafkajs-silent-broker-patch.mjs says why).
    if (e.name === 'KafkaJSRequestTimeoutError' && typeof e.broker === 'string') {
      const at = e.broker.lastIndexOf(':')
      const host = e.broker.slice(0, at)
      const port = Number(e.broker.slice(at + 1))
      const pool = this.cluster.brokerPool
      const silent = pool && Object.values(pool.brokers).find(b => b.connectionPool.host === host && b.connectionPool.port === port)
      this.logger.warn('A fetch was not answered in time: reading the metadata again from another broker', {
        groupId: this.groupId,
        broker: e.broker,
      })
      this.cluster.removeBroker({ host, port })
      if (silent && silent !== this.coordinator) silent.disconnect().catch(() => {})
      return
    }

    throw e
  }
`;

const HEARTBEAT_ORIGINAL = `        await this.coordinator.heartbeat(payload)
        this.instrumentationEmitter.emit(HEARTBEAT, payload)
`;

const HEARTBEAT_PATCHED = `        // ${COORDINATOR_TIMEOUT_PATCH_MARKER} (postline's scripts/kafkajs-silent-broker-patch.mjs says why).
        const asked = this.coordinator
        try {
          await asked.heartbeat(payload)
        } catch (e) {
          if (e.name !== 'KafkaJSRequestTimeoutError') throw e
          // Asked of another broker: kafkajs' own look-up picks one at random, this one too (30 s).
          const pool = this.cluster.brokerPool
          const other = pool && Object.values(pool.brokers).find(b => b.nodeId !== asked.nodeId && b.isConnected())
          const lookUp = other
            ? other.findGroupCoordinator({ groupId, coordinatorType: 0 })
            : this.cluster.findGroupCoordinatorMetadata({ groupId })
          const found = await lookUp.catch(() => null)
          if (!found || this.coordinator !== asked || found.coordinator.nodeId === asked.nodeId) throw e
          this.logger.warn('The group coordinator did not answer a heartbeat, and the cluster names another: joining again', {
            groupId,
            from: asked.nodeId,
            to: found.coordinator.nodeId,
          })
          // Out of the pool, as a fetch's silent broker: the join's look-up and the group leader's
          // metadata read pick from it at random, and would wait 30 s on it.
          const { host, port } = asked.connectionPool
          this.cluster.removeBroker({ host, port })
          asked.disconnect().catch(() => {})
          throw require('../protocol/error').createErrorFromCode(16)
        }
        this.instrumentationEmitter.emit(HEARTBEAT, payload)
`;

const PRODUCE_ORIGINAL = `      } catch (e) {
        if (e.name === 'KafkaJSConnectionClosedError') {
          cluster.removeBroker({ host: e.host, port: e.port })
        }
`;

const PRODUCE_PATCHED = `      } catch (e) {
        if (e.name === 'KafkaJSConnectionClosedError') {
          cluster.removeBroker({ host: e.host, port: e.port })
        }

        // ${PRODUCE_TIMEOUT_PATCH_MARKER} (postline's scripts/kafkajs-silent-broker-patch.mjs says why).
        if (e.name === 'KafkaJSRequestTimeoutError' && typeof e.broker === 'string') {
          const at = e.broker.lastIndexOf(':')
          cluster.removeBroker({ host: e.broker.slice(0, at), port: Number(e.broker.slice(at + 1)) })
          logger.warn('A produce was not answered in time: reading the metadata again from another broker', {
            broker: e.broker,
            retryCount,
          })
          await cluster.refreshMetadata()
          throw e
        }
`;

export const PRODUCE_TIMEOUT_PATCH = {
  file: 'src/producer/sendMessages.js',
  original: PRODUCE_ORIGINAL,
  patched: PRODUCE_PATCHED,
  marker: PRODUCE_TIMEOUT_PATCH_MARKER,
};
export const FETCH_TIMEOUT_PATCH = { file: FILE, original: FETCH_ORIGINAL, patched: FETCH_PATCHED, marker: FETCH_TIMEOUT_PATCH_MARKER };
export const COORDINATOR_TIMEOUT_PATCH = {
  file: FILE,
  original: HEARTBEAT_ORIGINAL,
  patched: HEARTBEAT_PATCHED,
  marker: COORDINATOR_TIMEOUT_PATCH_MARKER,
};
