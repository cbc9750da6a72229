/**
 * The V8 heap settings each service runs with, wherever it runs: the images (Dockerfile's
 * NODE_OPTIONS, checked by test/packaging), `npm start`, `npm run api|mailer`, the tests' service
 * processes and the bench. Measured with `bench/ab.mjs` and `npm run bench` (2026-11-30): V8's
 * default young generation (16 MB semi-spaces) and its lazy old generation took the API to a
 * 247 MB peak RSS and the mailer to 223 MB, with a live heap near 31 MB; with these, 140 MB and
 * 131 MB at the same throughput (a 1 MB semi-space cost a fifth of the API's rate).
 *
 * The old-space caps are hard limits, so what a process may hold is bounded below them: the API's
 * request bodies by BODY_BYTES_IN_FLIGHT (24 MiB by default; 40 concurrent 3.9 MB requests were
 * all accepted with a 95 MB heap peak, and crashed the process without that bound), the mailer's
 * by its emails in flight (24 emails of 3.9 MB: a 100 MB heap peak, under its 256 MB cap).
 */
export const SERVICE_NODE_OPTIONS = {
  api: ['--max-semi-space-size=8', '--max-old-space-size=128'],
  mailer: ['--max-semi-space-size=8', '--max-old-space-size=256'],
  webhooks: ['--max-semi-space-size=8', '--max-old-space-size=256'],
} as const satisfies Record<string, readonly string[]>;

export type ServiceName = keyof typeof SERVICE_NODE_OPTIONS;

/** The node arguments to run a service's entry file (services/<name>/dist/...) with. */
export function nodeArgsFor(entry: string): string[] {
  const name = /services\/([a-z]+)\/dist\//.exec(entry.replaceAll('\\', '/'))?.[1];
  return name && name in SERVICE_NODE_OPTIONS ? [...SERVICE_NODE_OPTIONS[name as ServiceName]] : [];
}
