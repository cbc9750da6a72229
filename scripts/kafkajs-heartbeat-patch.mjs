// The sixth and seventh patches of scripts/patch-kafkajs.mjs: a heartbeat the group coordinator does
// not answer holds no batch.
//
// kafkajs' consumer has no heartbeat thread: its runner heartbeats at the end of every batch (and
// after an empty fetch), and the fetcher of a broker fetches again only once every batch of its last
// fetch has ended. A coordinator that does not answer (a network cut between the consumer and that
// broker, while the cluster sees it fine) holds each heartbeat for kafkajs' 30 s request timeout, and
// so every partition's next fetch, from every broker: e2e 25 measured a mailer cut off from its
// coordinator sending 1 to 4,269 emails in 55 s, against 6,740-9,501 cut off from a broker that was
// not its coordinator. Kafka's Java consumer heartbeats from a thread of its own and keeps fetching
// while it looks for its coordinator.
//
// Patched, a batch waits for a heartbeat's answer at most HEARTBEAT_WAIT_MS from the moment it was
// sent (answers come in milliseconds), and then goes on. One heartbeat is in flight at a time, as
// before (kafkajs shared it already). What a late answer brings is not lost: its error (the group
// rebalancing, this member unknown) is thrown by the runner's own next heartbeat, the one that ends a
// batch or follows an empty fetch, exactly where an answer in time throws, so the consumer rejoins as
// before. A heartbeat that got no answer at all (its request timed out, its connection failed) is
// thrown so only when the one before it got none either: the runner restarts its fetchers on it, and
// that restart waited for the fetch in flight to the broker that does not answer (27 s without a
// delivery in e2e 25). Two in a row still restart them, and a consumer whose restarts keep failing
// still ends and is made again by its supervisor, which finds the group's coordinator anew. The
// heartbeat handed to eachBatch, which an app may call at any time and whose errors it may ignore
// (the mailer does), leaves a late error for the runner's own (the second patch). An answer in
// time behaves exactly as before.
//
// The test (packages/runtime/test/kafkajs-heartbeat.test.ts) drives kafkajs' own Runner, patched.

export const HEARTBEAT_PATCH_MARKER = 'postline: a heartbeat the coordinator does not answer holds no batch';
export const HEARTBEAT_PAYLOAD_PATCH_MARKER = "postline: eachBatch's heartbeat leaves a late error to the runner's own";

/** How long a batch waits for a heartbeat's answer, from the moment it was sent. */
export const HEARTBEAT_WAIT_MS = 1_000;

const ORIGINAL = `  async heartbeat() {
    try {
      await this.consumerGroup.heartbeat({ interval: this.heartbeatInterval })
    } catch (e) {
      if (isRebalancing(e)) {
        await this.autoCommitOffsets()
      }
      throw e
    }
  }
`;

const PATCHED = `  // ${HEARTBEAT_PATCH_MARKER} (postline's scripts/kafkajs-heartbeat-patch.mjs says why).
  // \`takeLate\`: false for eachBatch's heartbeat, whose errors an app may ignore.
  async heartbeat(takeLate = true) {
    const { KafkaJSProtocolError } = require('../errors')
    if (takeLate && this.lateHeartbeatError) {
      const e = this.lateHeartbeatError
      this.lateHeartbeatError = null
      throw e
    }
    if (!this.heartbeatInFlight) {
      const beat = { answerBy: performance.now() + ${HEARTBEAT_WAIT_MS}, late: false }
      beat.answer = this.consumerGroup.heartbeat({ interval: this.heartbeatInterval }).then(
        () => {
          this.heartbeatInFlight = null
          this.lateHeartbeatFailures = 0
        },
        async e => {
          this.heartbeatInFlight = null
          if (isRebalancing(e)) {
            await this.autoCommitOffsets()
          }
          throw e
        }
      )
      this.heartbeatInFlight = beat
    }
    const beat = this.heartbeatInFlight
    // Past its time already, it is late whatever comes (a timer of 0 ms lost the race to a request
    // timeout that kafkajs' own timer rejects in the same turn).
    const wait = beat.answerBy - performance.now()
    if (wait > 0) {
      let timer
      const late = new Promise(resolve => {
        timer = setTimeout(resolve, wait, beat)
      })
      try {
        if ((await Promise.race([beat.answer, late])) !== beat) return
      } finally {
        clearTimeout(timer)
      }
    }
    if (beat.late) return
    beat.late = true
    // A late success resets the count where every success does (above).
    beat.answer.catch(e => {
      // An answer (the group rebalancing, this member unknown) is kept at once; no answer at
      // all (a timeout, a lost connection) only the second time running: restarting the fetchers
      // for it waited on the fetch in flight to a broker that does not answer either.
      this.lateHeartbeatFailures = (this.lateHeartbeatFailures || 0) + 1
      if (e instanceof KafkaJSProtocolError || this.lateHeartbeatFailures >= 2) this.lateHeartbeatError = e
    })
  }
`;

const PAYLOAD_ORIGINAL = `        heartbeat: () => this.heartbeat(),
        /**
         * Pause consumption for the current topic-partition being processed
         */`;

const PAYLOAD_PATCHED = `        // ${HEARTBEAT_PAYLOAD_PATCH_MARKER} (scripts/kafkajs-heartbeat-patch.mjs).
        heartbeat: () => this.heartbeat(false),
        /**
         * Pause consumption for the current topic-partition being processed
         */`;

const FILE = 'src/consumer/runner.js';

export const HEARTBEAT_PATCH = { file: FILE, original: ORIGINAL, patched: PATCHED, marker: HEARTBEAT_PATCH_MARKER };
export const HEARTBEAT_PAYLOAD_PATCH = {
  file: FILE,
  original: PAYLOAD_ORIGINAL,
  patched: PAYLOAD_PATCHED,
  marker: HEARTBEAT_PAYLOAD_PATCH_MARKER,
};
