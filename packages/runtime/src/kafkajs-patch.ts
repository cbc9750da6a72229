import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LogSink } from './logger.js';

/** The line scripts/patch-kafkajs.mjs writes into kafkajs (the two must agree; its test checks). */
export const KAFKAJS_PATCH_MARKER = 'postline: every broker request ends before a retry';

/** Whether the kafkajs resolved from `from` (this module: the one the process loads) carries scripts/patch-kafkajs.mjs' mend; false when it cannot tell. */
export function kafkajsPatched(from: string | URL = import.meta.url): boolean {
  try {
    const file = createRequire(from).resolve('kafkajs/src/producer/sendMessages.js');
    return readFileSync(file, 'utf8').includes(KAFKAJS_PATCH_MARKER);
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
      'kafkajs is not patched: a produce retry can write a record twice',
    );
  }
}
