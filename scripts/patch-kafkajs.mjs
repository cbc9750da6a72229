#!/usr/bin/env node
// Mends a race in kafkajs 2.2.4 (unmaintained, so no release will) that writes a record twice.
//
// producer/sendMessages.js sends one request per leader broker and awaits them with Promise.all.
// When one broker's request fails first (NOT_LEADER while a new topic spreads, a closed
// connection), the retry starts while another broker's request is still in flight. That request
// then succeeds and moves its partitions' sequence numbers on, and the retry, which had counted
// that broker as unanswered, sends its records again under the new numbers: the broker sees the
// next sequence, not a duplicate, and writes them a second time. Seen in CI as 4 records for a
// batch of 3 (packages/runtime/test/kafkajs-patch.test.ts replays it).
//
// The mend: wait for every broker's request to end before a retry, so a broker that answered is
// recorded as answered and only the failed requests (whose numbers kafkajs rolls back) are sent
// again.
//
// Two speed-ups for large emails, both on the event loop. kafkajs computes each record batch's
// CRC-32C in JavaScript, 11-16 ms for a 4 MB email; @node-rs/crc32 (a dependency of
// @postline/runtime) computes the same number in native code in about 1 ms. Where it cannot load,
// kafkajs' own code runs as before. And kafkajs' Encoder copied a large record at every level of a
// produce request; patched, it holds large buffers by reference (scripts/kafkajs-encoder-patch.mjs),
// and a record batch computes its CRC over those pieces (scripts/kafkajs-record-batch-patch.mjs).
//
// And a consumer stopped while its fetchers rebalance (a broker gone or back) no longer makes new
// fetchers that spin on the event loop for ever (scripts/kafkajs-fetch-manager-patch.mjs).
//
// And a heartbeat the group coordinator does not answer no longer holds every partition's next
// fetch for the 30 s request timeout (scripts/kafkajs-heartbeat-patch.mjs).
//
// And a consumer or producer whose broker stops answering follows the cluster: a fetch or produce
// that timed out reads the metadata anew, and a heartbeat that timed out looks the group
// coordinator up (scripts/kafkajs-silent-broker-patch.mjs); a fetcher's stop (a rebalance's, a
// shutdown's) gives up on a fetch such a broker does not answer after 2 s instead of waiting out
// its timeout (scripts/kafkajs-fetcher-stop-patch.mjs); and a client that connects while the first
// broker of its list does not answer tries the next after connectionTimeout, not 30 s later or never
// (scripts/kafkajs-seed-broker-patch.mjs); and the requests any broker can answer (the coordinator's
// look-up, a metadata read) go last to a broker with a request long unanswered
// (scripts/kafkajs-stalled-broker-patch.mjs); and a fetcher resolves the starting offsets of its own
// broker's partitions only, so one that does not answer holds no other fetcher
// (scripts/kafkajs-resolve-offsets-patch.mjs).
//
// Run by `postinstall` and by scripts/build-artifact.mjs (the images install with
// --ignore-scripts); the services warn at boot if it is missing (packages/runtime/src/kafkajs-patch.ts).
//
//   node scripts/patch-kafkajs.mjs [ROOT]     (ROOT: a folder whose package.json lists the workspaces)
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENCODER_PATCH } from './kafkajs-encoder-patch.mjs';
import { FETCH_MANAGER_PATCH } from './kafkajs-fetch-manager-patch.mjs';
import { FETCHER_FETCH_PATCH, FETCHER_STOP_PATCH } from './kafkajs-fetcher-stop-patch.mjs';
import { HEARTBEAT_PATCH, HEARTBEAT_PAYLOAD_PATCH } from './kafkajs-heartbeat-patch.mjs';
import { RECORD_BATCH_PATCH } from './kafkajs-record-batch-patch.mjs';
import { RESOLVE_OFFSETS_PATCH, RESOLVE_OFFSETS_SEEK_PATCH } from './kafkajs-resolve-offsets-patch.mjs';
import { HANDSHAKE_TIMEOUT_PATCH, SEED_TIMEOUT_PATCH } from './kafkajs-seed-broker-patch.mjs';
import { COORDINATOR_TIMEOUT_PATCH, FETCH_TIMEOUT_PATCH, PRODUCE_TIMEOUT_PATCH } from './kafkajs-silent-broker-patch.mjs';
import {
  DESCRIBE_CONFIGS_PATCH,
  INIT_PRODUCER_ID_PATCH,
  STALLED_BROKER_PATCH,
  STALLED_CONNECTED_PATCH,
  STALLED_CONTROLLER_PATCH,
  STALLED_FIND_CONNECTED_PATCH,
  STALLED_TIMEOUT_PATCH,
} from './kafkajs-stalled-broker-patch.mjs';

export { ENCODER_PATCH_MARKER } from './kafkajs-encoder-patch.mjs';
export { FETCH_MANAGER_PATCH_MARKER } from './kafkajs-fetch-manager-patch.mjs';
export { FETCHER_STOP_PATCH_MARKER } from './kafkajs-fetcher-stop-patch.mjs';
export { HEARTBEAT_PATCH_MARKER } from './kafkajs-heartbeat-patch.mjs';
export { RECORD_BATCH_PATCH_MARKER } from './kafkajs-record-batch-patch.mjs';
export { RESOLVE_OFFSETS_PATCH_MARKER } from './kafkajs-resolve-offsets-patch.mjs';
export { HANDSHAKE_TIMEOUT_PATCH_MARKER, SEED_TIMEOUT_PATCH_MARKER } from './kafkajs-seed-broker-patch.mjs';
export {
  COORDINATOR_TIMEOUT_PATCH_MARKER,
  FETCH_TIMEOUT_PATCH_MARKER,
  PRODUCE_TIMEOUT_PATCH_MARKER,
} from './kafkajs-silent-broker-patch.mjs';
export {
  ANY_BROKER_PATCH_MARKER,
  STALLED_BROKER_PATCH_MARKER,
  STALLED_CONTROLLER_PATCH_MARKER,
  STALLED_FIND_CONNECTED_PATCH_MARKER,
} from './kafkajs-stalled-broker-patch.mjs';

/** What the patched file says; the services look for it. */
export const KAFKAJS_PATCH_MARKER = 'postline: every broker request ends before a retry';
const SEND_MESSAGES = 'src/producer/sendMessages.js';
const ORIGINAL = `        const requests = await createProducerRequests(responsePerBroker)
        await Promise.all(requests)
`;
const PATCHED = `        const requests = await createProducerRequests(responsePerBroker)
        // ${KAFKAJS_PATCH_MARKER} (postline's scripts/patch-kafkajs.mjs):
        // a retry that overlaps a request still in flight sends its records again.
        const settled = await Promise.allSettled(requests)
        const failed = settled.find(s => s.status === 'rejected')
        if (failed) throw failed.reason
`;

export const CRC_PATCH_MARKER = 'postline: CRC-32C in native code when @node-rs/crc32 loads';
const CRC = 'src/protocol/recordBatch/crc32C/index.js';
const CRC_ORIGINAL = `const crc32C = require('./crc32C')
const unsigned = value => Uint32Array.from([value])[0]

module.exports = buffer => unsigned(crc32C(buffer))
`;
const CRC_PATCHED = `// ${CRC_PATCH_MARKER} (postline's scripts/patch-kafkajs.mjs)
const crc32C = require('./crc32C')
const unsigned = value => Uint32Array.from([value])[0]

let native = null
try {
  native = require('@node-rs/crc32').crc32c
} catch (error) {
  // Not installed, or no build for this platform: kafkajs' own code below.
}

module.exports = native ? buffer => native(buffer) : buffer => unsigned(crc32C(buffer))
`;

/** Each file patched: its path in kafkajs, the text replaced, its replacement, and the marker that says it is done. */
const PATCHES = [
  { file: SEND_MESSAGES, original: ORIGINAL, patched: PATCHED, marker: KAFKAJS_PATCH_MARKER },
  { file: CRC, original: CRC_ORIGINAL, patched: CRC_PATCHED, marker: CRC_PATCH_MARKER },
  ENCODER_PATCH,
  RECORD_BATCH_PATCH,
  FETCH_MANAGER_PATCH,
  HEARTBEAT_PATCH,
  HEARTBEAT_PAYLOAD_PATCH,
  FETCH_TIMEOUT_PATCH,
  COORDINATOR_TIMEOUT_PATCH,
  PRODUCE_TIMEOUT_PATCH,
  FETCHER_STOP_PATCH,
  FETCHER_FETCH_PATCH,
  SEED_TIMEOUT_PATCH,
  HANDSHAKE_TIMEOUT_PATCH,
  STALLED_BROKER_PATCH,
  STALLED_CONNECTED_PATCH,
  STALLED_TIMEOUT_PATCH,
  RESOLVE_OFFSETS_SEEK_PATCH,
  RESOLVE_OFFSETS_PATCH,
  STALLED_CONTROLLER_PATCH,
  DESCRIBE_CONFIGS_PATCH,
  INIT_PRODUCER_ID_PATCH,
  STALLED_FIND_CONNECTED_PATCH,
];

/** Every kafkajs the root and its workspaces resolve (one, when npm hoisted it); never one outside `root`. */
function kafkajsCopies(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const copies = new Set();
  // Resolution answers real paths: compare with the root's own.
  const inside = realpathSync(root) + sep;
  for (const dir of [root, ...(pkg.workspaces ?? []).map((ws) => join(root, ws))]) {
    if (!existsSync(join(dir, 'package.json'))) continue;
    try {
      const found = dirname(createRequire(join(dir, 'package.json')).resolve('kafkajs/package.json'));
      if (found.startsWith(inside)) copies.add(found);
    } catch {
      // This workspace does not use kafkajs.
    }
  }
  return [...copies];
}

/**
 * Patches every copy under `root`; returns each file and whether it was patched now or before.
 * Throws on a text it does not know, before it writes anything to that copy.
 */
export function patchKafkajs(root) {
  const copies = kafkajsCopies(root);
  if (copies.length === 0) throw new Error(`no kafkajs is installed under ${root}: run npm install first`);
  return copies.flatMap((dir) => {
    // A file may take more than one patch: each applies to the text the one before it left.
    const texts = new Map();
    const plan = PATCHES.map(({ file: path, original, patched, marker }) => {
      const file = join(dir, path);
      const text = texts.get(file) ?? readFileSync(file, 'utf8');
      if (text.includes(marker)) return { file, state: 'already' };
      const at = text.indexOf(original);
      if (at < 0 || text.indexOf(original, at + 1) >= 0) {
        const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        throw new Error(`${file} (kafkajs ${version}) is not the text this patch was written for (kafkajs 2.2.4): review the patch`);
      }
      texts.set(file, text.replace(original, patched));
      return { file, state: 'patched' };
    });
    for (const [file, text] of texts) writeFileSync(file, text);
    return plan;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  try {
    for (const { file, state } of patchKafkajs(root))
      process.stdout.write(`kafkajs patch: ${state === 'patched' ? 'applied to' : 'already in'} ${file}\n`);
  } catch (error) {
    process.stderr.write(`kafkajs patch: ${error.message}\n`);
    process.exit(1);
  }
}
