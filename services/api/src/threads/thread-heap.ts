import v8 from 'node:v8';

/**
 * Lets a pool's threads have the heap limits their pool gives them (Worker `resourceLimits`).
 *
 * The API runs with `--max-old-space-size` and `--max-semi-space-size` (packages/stack's
 * node-options.ts, the images' NODE_OPTIONS), and V8 applies those flags over an isolate's own
 * limits when it sets up that isolate's heap: every thread got the API's 128 MB old generation and
 * 8 MB semi-spaces, whatever its pool asked (a thread asking for 96 MB had a 152 MB heap limit).
 * V8 reads them once per isolate, when the isolate is set up, and the API's own heap was set up
 * when the process started: clearing them now leaves the API's limits as they are and lets each
 * later thread have its own (test/fast/thread-heap.test.ts checks both, under the API's flags).
 * `--max-heap-size`, which a user may pass instead, is cleared for the same reason.
 */
export function clearProcessHeapFlags(): void {
  for (const flag of ['--max-old-space-size=0', '--max-semi-space-size=0', '--max-heap-size=0']) v8.setFlagsFromString(flag);
}
