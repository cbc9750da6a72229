import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LogSink } from './logger.js';

/** The line scripts/patch-kafkajs.mjs writes into kafkajs (the two must agree; its test checks). */
export const KAFKAJS_PATCH_MARKER = 'postline: every broker request ends before a retry';
/** The line scripts/kafkajs-fetch-manager-patch.mjs writes (its test checks that they agree). */
export const FETCH_MANAGER_PATCH_MARKER = 'postline: a stop during a rebalance ends the fetchers';
/** The line scripts/kafkajs-heartbeat-patch.mjs writes (its test checks that they agree). */
export const HEARTBEAT_PATCH_MARKER = 'postline: a heartbeat the coordinator does not answer holds no batch';
/** The lines scripts/kafkajs-silent-broker-patch.mjs writes (its test checks that they agree). */
export const FETCH_TIMEOUT_PATCH_MARKER = 'postline: a fetch a broker did not answer reads the metadata again';
export const COORDINATOR_TIMEOUT_PATCH_MARKER = 'postline: a heartbeat the coordinator did not answer looks the coordinator up';
export const PRODUCE_TIMEOUT_PATCH_MARKER = 'postline: a produce a broker did not answer reads the metadata again';
/** The line scripts/kafkajs-fetcher-stop-patch.mjs writes (its test checks that they agree). */
export const FETCHER_STOP_PATCH_MARKER = 'postline: a stop does not wait out a fetch its broker does not answer';
/** The lines scripts/kafkajs-seed-broker-patch.mjs writes (its test checks that they agree). */
export const SEED_TIMEOUT_PATCH_MARKER = 'postline: a seed broker that does not answer is passed over';
export const HANDSHAKE_TIMEOUT_PATCH_MARKER = 'postline: the ApiVersions handshake times out after connectionTimeout';
/** The line scripts/kafkajs-stalled-broker-patch.mjs writes (its test checks that they agree). */
export const STALLED_BROKER_PATCH_MARKER = 'postline: a broker with a request long unanswered is asked last';
export const STALLED_FIND_CONNECTED_PATCH_MARKER = 'postline: a stalled broker is not the connected one asked';
export const STALLED_CONTROLLER_PATCH_MARKER = 'postline: a controller with a request long unanswered gives way';
export const ANY_BROKER_PATCH_MARKER = 'postline: what any broker answers goes to the least loaded one';
/** The line scripts/kafkajs-resolve-offsets-patch.mjs writes (its test checks that they agree). */
export const RESOLVE_OFFSETS_PATCH_MARKER = "postline: a fetcher resolves its own partitions' offsets";

/** The mends that change what kafkajs does (the others only make it faster): each file and its marker. */
const MENDS = [
  { file: 'kafkajs/src/producer/sendMessages.js', marker: KAFKAJS_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/fetchManager.js', marker: FETCH_MANAGER_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/runner.js', marker: HEARTBEAT_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/consumerGroup.js', marker: FETCH_TIMEOUT_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/consumerGroup.js', marker: COORDINATOR_TIMEOUT_PATCH_MARKER },
  { file: 'kafkajs/src/producer/sendMessages.js', marker: PRODUCE_TIMEOUT_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/fetcher.js', marker: FETCHER_STOP_PATCH_MARKER },
  { file: 'kafkajs/src/cluster/brokerPool.js', marker: SEED_TIMEOUT_PATCH_MARKER },
  { file: 'kafkajs/src/network/requestQueue/index.js', marker: HANDSHAKE_TIMEOUT_PATCH_MARKER },
  { file: 'kafkajs/src/cluster/brokerPool.js', marker: STALLED_BROKER_PATCH_MARKER },
  { file: 'kafkajs/src/cluster/brokerPool.js', marker: STALLED_FIND_CONNECTED_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/consumerGroup.js', marker: RESOLVE_OFFSETS_PATCH_MARKER },
  { file: 'kafkajs/src/consumer/offsetManager/index.js', marker: RESOLVE_OFFSETS_PATCH_MARKER },
  { file: 'kafkajs/src/cluster/index.js', marker: STALLED_CONTROLLER_PATCH_MARKER },
  { file: 'kafkajs/src/admin/index.js', marker: ANY_BROKER_PATCH_MARKER },
  { file: 'kafkajs/src/producer/eosManager/index.js', marker: ANY_BROKER_PATCH_MARKER },
];

/** Whether the kafkajs resolved from `from` (this module: the one the process loads) carries scripts/patch-kafkajs.mjs' mends; false when it cannot tell. */
export function kafkajsPatched(from: string | URL = import.meta.url): boolean {
  try {
    const require = createRequire(from);
    return MENDS.every(({ file, marker }) => readFileSync(require.resolve(file), 'utf8').includes(marker));
  } catch {
    return false;
  }
}

let checked = false;

/**
 * Says once per process when the mend is missing (an install with --ignore-scripts skips the
 * `postinstall` that applies it). Not fatal: what it prevents is a second copy of a record, which
 * every consumer here dedupes (the ledger by email id, webhooks by event id), so a service that
 * runs without it loses nothing; the operator is told why the topic may hold duplicates.
 */
export function warnUnlessKafkajsPatched(log: LogSink, patched = kafkajsPatched): void {
  if (checked) return;
  checked = true;
  if (!patched()) {
    log.warn(
      { fix: 'node scripts/patch-kafkajs.mjs (run by npm install, unless --ignore-scripts)' },
      'kafkajs is not patched: a produce retry can write a record twice, and a consumer stopped as brokers change can hang',
    );
  }
}
