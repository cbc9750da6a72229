// The fourteenth patch of scripts/patch-kafkajs.mjs: a broker with a request long unanswered is asked last.
//
// kafkajs sends the requests any broker can answer (the group coordinator's look-up, which every
// join of a group starts with; a metadata read) to a broker it picks at random, trying the next only
// once one has failed. A broker that takes requests and answers nothing (cut off from this client
// while the cluster still sees it, e2e 25 and 27; frozen before the cluster fences it, e2e 26) holds
// each such request for kafkajs' 30 s request timeout. In e2e 27 (test/e2e/network-partition.test.ts:
// a rolling update of the mailers while they are cut off from one broker), the mailer that stayed
// joined its group again 5.3 s after the other was stopped in one run and 35 s in the next: its
// join's look-up had gone to the cut broker. Kafka's Java client sends these to its "least loaded"
// broker, the one with the fewest requests in flight.
//
// Patched, the brokers are still shuffled, then those with a request in flight for more than 6 s, or
// whose request of any client of this process timed out in the last minute, are put last (a client
// that has just connected has nothing in flight yet: e2e 27's new mailer read metadata from the cut
// broker, 30 s, right after its admin client's handshake there had timed out). JoinGroup and
// SyncGroup wait for the other members by design, so they do not count; a fetch waits at most
// maxWaitTime (100 ms in postline's consumers, 5 s at kafkajs' default) before the broker answers
// it, so 6 s is well past any answer. And a broker already connected (it has answered) goes before
// one not connected yet, as Java's least loaded pick prefers a node with a connection: e2e 27's new
// mailer, whose seed was a broker that answers, read its next metadata from the cut one, never
// connected before and so unknown (30 s). Only the order changes: among brokers alike, it is
// kafkajs' random one. The test (packages/runtime/test/kafkajs-stalled-broker.test.ts) runs kafkajs'
// own BrokerPool, patched and not.

export const STALLED_BROKER_PATCH_MARKER = 'postline: a broker with a request long unanswered is asked last';

const ORIGINAL = `  async withBroker(callback) {
    const brokers = shuffle(keys(this.brokers))
`;

const PATCHED = `  // ${STALLED_BROKER_PATCH_MARKER} (postline's scripts/kafkajs-stalled-broker-patch.mjs says why).
  // A request to \`host:port\` timed out in the last minute, for any client of this process (the
  // request queue's key is its "host:port"); the seed pick of kafkajs-seed-broker-patch.mjs asks too.
  recentlyTimedOut({ host, port }) {
    const timedOut = global[Symbol.for('postline.kafkajs.timedOut')]
    return Boolean(timedOut) && Date.now() - (timedOut.get(\`\${host}:\${port}\`) || 0) < 60000
  }

  // First the brokers connected and not stalled (they have answered), then those not connected yet
  // (unknown), then the stalled ones; each group in the order given. \`connectedFirst\` false: only
  // the stalled ones move (the controller's pick, whose named broker may matter).
  answeringFirst(nodeIds, connectedFirst = true) {
    const STALLED_AFTER_MS = 6000
    const now = Date.now()
    const stalled = nodeId => {
      const pool = this.brokers[nodeId] && this.brokers[nodeId].connectionPool
      const connections = (pool && pool.pool) || []
      if (pool && this.recentlyTimedOut(pool)) return true
      return connections.some(connection =>
        Array.from((connection.requestQueue && connection.requestQueue.inflight.values()) || []).some(
          request =>
            request.sentAt != null &&
            now - request.sentAt > STALLED_AFTER_MS &&
            !['JoinGroup', 'SyncGroup'].includes(request.entry.apiName)
        )
      )
    }
    const rank = nodeId => {
      if (stalled(nodeId)) return 2
      const broker = this.brokers[nodeId]
      return !connectedFirst || (broker && broker.isConnected()) ? 0 : 1
    }
    const ranks = new Map(nodeIds.map(nodeId => [nodeId, rank(nodeId)]))
    return [0, 1, 2].flatMap(r => nodeIds.filter(nodeId => ranks.get(nodeId) === r))
  }

  async withBroker(callback) {
    const brokers = this.answeringFirst(shuffle(keys(this.brokers)))
`;

// findConnectedBroker (every metadata refresh; each of an admin client's metadata reads, its
// metadataMaxAge being 0) took the first broker with a connection in any order, so a stalled one
// came before those not connected yet: e2e 24's admin, connected to its seed only, read from the
// cut broker for the whole 80 s cut, each read waiting out the 30 s timeout. The first broker of
// answeringFirst's order is the one asked when it is connected; otherwise they are tried in that
// order (the ones not connected yet connect). Java's client closes a connection whose request
// timed out, so it too asks a node it can connect to before that one.
export const STALLED_FIND_CONNECTED_PATCH_MARKER = 'postline: a stalled broker is not the connected one asked';

const CONNECTED_ORIGINAL = `    const nodeIds = shuffle(keys(this.brokers))
`;

const CONNECTED_PATCHED = `    const nodeIds = this.answeringFirst(shuffle(keys(this.brokers)))
`;

const FIND_CONNECTED_ORIGINAL = `    const connectedBrokerId = nodeIds.find(nodeId => this.brokers[nodeId].isConnected())
`;

const FIND_CONNECTED_PATCHED = `    // ${STALLED_FIND_CONNECTED_PATCH_MARKER} (postline's scripts/kafkajs-stalled-broker-patch.mjs says why).
    const connectedBrokerId = nodeIds.slice(0, 1).find(nodeId => this.brokers[nodeId].isConnected())
`;

const TIMEOUT_ORIGINAL = `          if (Date.now() - request.sentAt > request.requestTimeout) {
            request.timeoutRequest()
`;

const TIMEOUT_PATCHED = `          if (Date.now() - request.sentAt > request.requestTimeout) {
            // ${STALLED_BROKER_PATCH_MARKER}: remembered for every client of the process.
            const timedOut = (global[Symbol.for('postline.kafkajs.timedOut')] =
              global[Symbol.for('postline.kafkajs.timedOut')] || new Map())
            timedOut.set(this.broker, Date.now())
            request.timeoutRequest()
`;

/** Where a request times out: the broker is remembered (kafkajs' `broker` here is its "host:port"). */
export const STALLED_TIMEOUT_PATCH = {
  file: 'src/network/requestQueue/index.js',
  original: TIMEOUT_ORIGINAL,
  patched: TIMEOUT_PATCHED,
  marker: 'timedOut.set(this.broker, Date.now())',
};

const FILE = 'src/cluster/brokerPool.js';
export const STALLED_BROKER_PATCH = { file: FILE, original: ORIGINAL, patched: PATCHED, marker: STALLED_BROKER_PATCH_MARKER };
/** The second place, applied after the first: the marker is the call, which only this half writes there. */
export const STALLED_CONNECTED_PATCH = {
  file: FILE,
  original: CONNECTED_ORIGINAL,
  patched: CONNECTED_PATCHED,
  marker: 'const nodeIds = this.answeringFirst(',
};
/** The next line of findConnectedBroker: a patch of its own, so an install patched before it takes it too. */
export const STALLED_FIND_CONNECTED_PATCH = {
  file: FILE,
  original: FIND_CONNECTED_ORIGINAL,
  patched: FIND_CONNECTED_PATCHED,
  marker: STALLED_FIND_CONNECTED_PATCH_MARKER,
};

// The seventeenth patch, the same rule for the "controller": kafkajs' admin sends its topic requests
// (DescribeConfigs, CreateTopics, CreatePartitions) and its idempotent producers their InitProducerId
// to the broker the metadata names as the cluster's controller. A KRaft broker names a random alive
// broker there (Kafka's KafkaApis: clients reach the real controller through any broker, which
// forwards), so the pick is as random as withBroker's, and no better when it is the broker that does
// not answer: e2e 27's new mailer, started while cut off from one broker, once waited 30 s for its
// topic check's DescribeConfigs there, then again at the next try, until the cut healed (48 s).
// Patched, a named controller that answeringFirst would put last gives way to one that answers.
// With ZooKeeper (a real controller, before Kafka 2.8's forwarding) another broker answers
// NOT_CONTROLLER, which kafkajs retries: no worse than waiting on a controller that is not there.
export const STALLED_CONTROLLER_PATCH_MARKER = 'postline: a controller with a request long unanswered gives way';

const CONTROLLER_ORIGINAL = `      const broker = await this.findBroker({ nodeId: metadata.controllerId })
`;

const CONTROLLER_PATCHED = `      // ${STALLED_CONTROLLER_PATCH_MARKER} (postline's scripts/kafkajs-stalled-broker-patch.mjs says why).
      const named = String(metadata.controllerId)
      const [nodeId] = this.brokerPool.answeringFirst([named, ...keys(this.brokerPool.brokers).filter(id => id !== named)], false)
      const broker = await this.findBroker({ nodeId })
`;

export const STALLED_CONTROLLER_PATCH = {
  file: 'src/cluster/index.js',
  original: CONTROLLER_ORIGINAL,
  patched: CONTROLLER_PATCHED,
  marker: STALLED_CONTROLLER_PATCH_MARKER,
};

// The eighteenth and nineteenth patches: what any broker answers goes to the least loaded one, not to
// the "controller". kafkajs' admin asks the controller for topics' configs (DescribeConfigs), and its
// idempotent producer asks it for a producer id (InitProducerId; kafkajs' own comment there says any
// broker would do); Java's admin and producer send both to their least loaded broker. So here they
// go where the look-ups go (findConnectedBroker, ordered as above): a connected broker that answers.
// e2e 27's new mailer, whose seed had answered, sent its topic check's DescribeConfigs to the cut
// broker, named controller at random and not known to be cut yet, and waited 30 s.
export const ANY_BROKER_PATCH_MARKER = 'postline: what any broker answers goes to the least loaded one';

const DESCRIBE_CONFIGS_ORIGINAL = `        const controller = await cluster.findControllerBroker()
        const resourcerByBroker = await groupResourcesByBroker({
          resources,
          defaultBroker: controller,
        })

        const describeConfigsAction = async broker => {
`;

const DESCRIBE_CONFIGS_PATCHED = `        // ${ANY_BROKER_PATCH_MARKER} (postline's scripts/kafkajs-stalled-broker-patch.mjs says why).
        const controller = await cluster.brokerPool.findConnectedBroker()
        const resourcerByBroker = await groupResourcesByBroker({
          resources,
          defaultBroker: controller,
        })

        const describeConfigsAction = async broker => {
`;

/** The admin's DescribeConfigs: a topic's configs from any broker (a broker's own still from that broker). */
export const DESCRIBE_CONFIGS_PATCH = {
  file: 'src/admin/index.js',
  original: DESCRIBE_CONFIGS_ORIGINAL,
  patched: DESCRIBE_CONFIGS_PATCHED,
  marker: ANY_BROKER_PATCH_MARKER,
};

const INIT_PRODUCER_ID_ORIGINAL = `            const broker = await (transactional
              ? findTransactionCoordinator()
              : cluster.findControllerBroker())
`;

const INIT_PRODUCER_ID_PATCHED = `            // ${ANY_BROKER_PATCH_MARKER} (postline's scripts/kafkajs-stalled-broker-patch.mjs says why).
            const broker = await (transactional
              ? findTransactionCoordinator()
              : cluster.brokerPool.findConnectedBroker())
`;

/** The idempotent producer's InitProducerId (a transactional one still asks its coordinator). */
export const INIT_PRODUCER_ID_PATCH = {
  file: 'src/producer/eosManager/index.js',
  original: INIT_PRODUCER_ID_ORIGINAL,
  patched: INIT_PRODUCER_ID_PATCHED,
  marker: ANY_BROKER_PATCH_MARKER,
};
