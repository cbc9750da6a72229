/**
 * The V8 heap settings each service runs with, wherever it runs: the images (Dockerfile's
 * NODE_OPTIONS and CMD, checked by test/packaging), `npm start`, `npm run api|mailer`, the tests'
 * service processes and the bench. Measured with `bench/ab.mjs` and `npm run bench` (2026-11-30):
 * V8's default young generation (16 MB semi-spaces) and its lazy old generation took the API to a
 * 247 MB peak RSS and the mailer to 223 MB, with a live heap near 31 MB; with these, 140 MB and
 * 131 MB at the same throughput (a 1 MB semi-space cost a fifth of the API's rate).
 *
 * The old-space caps are hard limits, so what a process may hold is bounded below them: the API's
 * request bodies by BODY_BYTES_IN_FLIGHT (24 MiB by default; 40 concurrent 3.9 MB requests were
 * all accepted with a 95 MB heap peak, and crashed the process without that bound), the mailer's
 * by its emails in flight (24 emails of 3.9 MB: a 100 MB heap peak, under its 256 MB cap).
 * V8 would apply these flags to every worker thread too, over its own limits: the API clears them
 * before its template threads start (services/api/src/threads/thread-heap.ts).
 */
export const SERVICE_NODE_OPTIONS = {
  api: ['--max-semi-space-size=8', '--max-old-space-size=128'],
  mailer: ['--max-semi-space-size=8', '--max-old-space-size=256'],
  webhooks: ['--max-semi-space-size=8', '--max-old-space-size=256'],
} as const satisfies Record<string, readonly string[]>;

/**
 * V8 flags Node refuses in NODE_OPTIONS, so the images pass them on the command line (CMD).
 *
 * Under a cap of 256 MB or less V8 lets the old generation grow by only 1.3× its live size before
 * the next full collection: the API (27 MB live) ran a mark-compact every 0.5–1 s under load, with
 * its concurrent marking on other threads and its write barriers on the request path. How often
 * also fed on itself: a slower process holds each request longer, promotes more, collects more.
 * Identical API processes on one stack ran 3–22 mark-compacts in 5 s and 250–460 µs of CPU a
 * request (`bench/ab.mjs`, 2026-12-03). A fixed factor of 1.6 cut the API's CPU a request at 256
 * clients by 28 % and 15 % (two runs, two processes a setting); the API's peak RSS rose by 5–14 MB.
 * The mailer has the same cap problem: 5 mark-compacts instead of 10 for 4,000 emails and 4 % less
 * CPU an email (1,319 against 1,380 µs, lower in 3 of 4 rounds); its bulk rate moved +18 %, −5 %
 * and +1 % in three runs, within the host's spread. The caps above still bound the heap.
 * Not measured for the webhook dispatcher, which keeps V8's factor.
 */
export const SERVICE_COMMAND_LINE_FLAGS = {
  api: ['--heap-growing-percent=60'],
  mailer: ['--heap-growing-percent=60'],
  webhooks: [],
} as const satisfies Record<keyof typeof SERVICE_NODE_OPTIONS, readonly string[]>;

export type ServiceName = keyof typeof SERVICE_NODE_OPTIONS;

/** Every node argument a service runs with, before its entry file. */
export function serviceNodeArgs(name: ServiceName): string[] {
  return [...SERVICE_NODE_OPTIONS[name], ...SERVICE_COMMAND_LINE_FLAGS[name]];
}

/** The node arguments to run a service's entry file (services/<name>/dist/...) with. */
export function nodeArgsFor(entry: string): string[] {
  const name = /services\/([a-z]+)\/dist\//.exec(entry.replaceAll('\\', '/'))?.[1];
  return name && name in SERVICE_NODE_OPTIONS ? serviceNodeArgs(name as ServiceName) : [];
}
