// The eleventh patch of scripts/patch-kafkajs.mjs, in two places of the fetcher (its stop, and the fetch in its loop): a
// fetcher's stop does not wait out a fetch its broker does not answer.
//
// kafkajs runs one fetcher per broker, and a fetcher's stop() waits for its fetch in flight to end.
// Every stop of the fetch manager waits for all of them: the runner's at a rebalance (before it
// rejoins) and at the consumer's stop. A healthy broker answers a fetch within maxWaitTime (100 ms
// here), but one that takes the connection and answers nothing (a network cut that drops packets, a
// process frozen or hung) holds the fetch to kafkajs' request timeout, 30 s. Seen in e2e 27
// (test/e2e/network-partition.test.ts): the mailers cut off from one broker that is not the group's
// coordinator, and a second mailer starts: the first one's rebalance waited 17.7 s for its fetch to
// the cut broker, and as the coordinator waits for every member before it assigns, no partition of
// the group was read meanwhile, the reachable brokers' too (kafkajs' fetcher restart inside the
// fetch manager waits the same way, which e2e 25 once saw take 28.8 s).
//
// Patched, a stop that finds its fetcher waiting on a fetch gives it 2 s (twenty times what a healthy
// broker takes), then leaves it to end on its own: the fetcher ends as if the fetch had come back
// empty. kafkajs already drops what a fetch brings once its fetcher stopped, and a fetch recovers from
// its own errors inside ConsumerGroup.fetch (a timeout by the fetch patch of
// scripts/kafkajs-silent-broker-patch.mjs); a rejection that still comes out lands on a settled
// promise. A stop that finds its fetcher handing batches to the workers waits for them, as before: an
// email in the middle of its send finishes before the partition can move. What this does not free: a
// consumer's disconnect, since kafkajs' Connection.disconnect waits for every request in flight; by
// then the member has left the group, which goes on without it.

export const FETCHER_STOP_PATCH_MARKER = 'postline: a stop does not wait out a fetch its broker does not answer';

const FILE = 'src/consumer/fetcher.js';

const FETCH_ORIGINAL = `        const batches = await fetch(nodeId)
`;

const FETCH_PATCHED = `        // ${FETCHER_STOP_PATCH_MARKER}: stop() may give this fetch up (abandonFetch).
        const batches = await new Promise((resolve, reject) => {
          abandonFetch = () => {
            logger.warn('A fetch was not answered within 2 s of the stop: left to end on its own', { nodeId })
            resolve([])
          }
          fetch(nodeId).then(resolve, reject)
        }).finally(() => {
          abandonFetch = null
        })
`;

const ORIGINAL = `  const stop = async () => {
    if (!isRunning) return
    isRunning = false
    await new Promise(resolve => emitter.once('end', () => resolve()))
  }
`;

const PATCHED = `  // ${FETCHER_STOP_PATCH_MARKER} (postline's scripts/kafkajs-fetcher-stop-patch.mjs says why).
  const ABANDON_FETCH_AFTER_MS = 2000
  /** Set by start() while a fetch is in flight: ends the wait for it, as if it had come back empty. */
  let abandonFetch = null

  const stop = async () => {
    if (!isRunning) return
    isRunning = false
    const ended = new Promise(resolve => emitter.once('end', () => resolve()))
    // Only a fetch is given up on; batches handed to the workers are waited for.
    const timer = abandonFetch && setTimeout(() => abandonFetch && abandonFetch(), ABANDON_FETCH_AFTER_MS)
    await ended
    clearTimeout(timer)
  }
`;

/** The stop, applied first: it declares what the fetch loop's half sets. */
export const FETCHER_STOP_PATCH = { file: FILE, original: ORIGINAL, patched: PATCHED, marker: FETCHER_STOP_PATCH_MARKER };
/** The fetch in start()'s loop, which a stop may give up on. */
export const FETCHER_FETCH_PATCH = {
  file: FILE,
  original: FETCH_ORIGINAL,
  patched: FETCH_PATCHED,
  marker: 'abandonFetch = () => {',
};
