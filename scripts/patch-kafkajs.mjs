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
// again. Run by `postinstall` and by scripts/build-artifact.mjs (the images install with
// --ignore-scripts); the services warn at boot if it is missing (packages/runtime/src/kafkajs-patch.ts).
//
//   node scripts/patch-kafkajs.mjs [ROOT]     (ROOT: a folder whose package.json lists the workspaces)
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the patched file says; the services look for it. */
export const KAFKAJS_PATCH_MARKER = 'postline: every broker request ends before a retry';
const FILE = 'src/producer/sendMessages.js';
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

/** Patches every copy under `root`; returns each file and whether it was patched now or before. Throws on a text it does not know. */
export function patchKafkajs(root) {
  const copies = kafkajsCopies(root);
  if (copies.length === 0) throw new Error(`no kafkajs is installed under ${root}: run npm install first`);
  return copies.map((dir) => {
    const file = join(dir, FILE);
    const text = readFileSync(file, 'utf8');
    if (text.includes(KAFKAJS_PATCH_MARKER)) return { file, state: 'already' };
    const at = text.indexOf(ORIGINAL);
    if (at < 0 || text.indexOf(ORIGINAL, at + 1) >= 0) {
      const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      throw new Error(`${file} (kafkajs ${version}) is not the text this patch was written for (kafkajs 2.2.4): review the patch`);
    }
    writeFileSync(file, text.replace(ORIGINAL, PATCHED));
    return { file, state: 'patched' };
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
