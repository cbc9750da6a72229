// The worst requests a key holder can send, timed for how long each blocks the API's event loop.
// In-process, with the real app and in-memory stand-ins for Kafka and Postgres (no stack needed):
// what is measured is parsing and validation, which run on the event loop, and handing a template's render to
// its thread; the produce does not.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import { app as apiApp, serverOptions } from '../../services/api/dist/app.js';
import { loadConfig } from '../../services/api/dist/config.js';

const KEY = 'bench-key-0123456789abcdef0123';
const email = (over = {}) => ({ from: 'Shop <orders@example.com>', to: 'c@example.net', subject: 's', text: 't', ...over });
const longAddress = (i) => `"${'N'.repeat(150)}, ${i}" <${'l'.repeat(60)}${i}@${'d'.repeat(60)}.example.net>`;

export const HOSTILE_REQUESTS = {
  'to: 200,000 × "a@" (1 MB)': ['/v1/emails', email({ to: Array.from({ length: 200_000 }, () => 'a@') })],
  'batch: 100 valid emails × 50 long quoted recipients (3.5 MB)': [
    '/v1/emails/batch',
    { emails: Array.from({ length: 100 }, () => email({ to: Array.from({ length: 50 }, (_, i) => longAddress(i)) })) },
  ],
  'batch: 100 emails × 50 invalid recipients (5,000 errors, 20 reported)': [
    '/v1/emails/batch',
    { emails: Array.from({ length: 100 }, () => email({ to: Array.from({ length: 50 }, () => `${'x'.repeat(300)},( <a@example.net>`) })) },
  ],
  'headers: 50 × 998-byte values (over the 16 KiB cap), 20 tags, 10 attachments': [
    '/v1/emails',
    email({
      headers: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-H${i}`, 'v'.repeat(998)])),
      tags: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${i}`, 'v'.repeat(256)])),
      attachments: Array.from({ length: 10 }, (_, i) => ({ filename: `f${i}.bin`, content: Buffer.alloc(200_000).toString('base64') })),
    }),
  ],
  'text: one 4 MB body': ['/v1/emails', email({ text: 'x'.repeat(4 * 1024 * 1024 - 200) })],
  'template: a send whose template runs to its render limit (3 nested loops over 2,000 items)': [
    '/v1/emails',
    {
      from: 'Shop <orders@example.com>',
      to: 'c@example.net',
      template: { id: 'tmpl_slow', variables: { items: Array.from({ length: 2_000 }, (_, i) => i) } },
    },
  ],
};

/** The ledger's answer for the template the last request names (resolveTemplate's row). */
const SLOW_TEMPLATE = {
  id: 'tmpl_slow',
  version: 1,
  subject: '{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x',
  html: null,
  text: '{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x',
  variables: { items: { type: 'array', required: true } },
  created_at: new Date(),
  published_at: new Date(),
};

/** For each hostile request: the longest event-loop block while it is handled (ms), over `runs` runs. */
export async function hostileBench({ say, runs = 10 }) {
  const config = loadConfig({
    NODE_ENV: 'test',
    KAFKA_BROKERS: '127.0.0.1:1',
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    API_KEYS: `bench:${KEY}`,
    SENDER_DOMAINS: 'example.com',
    RATE_LIMIT_PER_MINUTE: '1000000000',
    REQUEST_RATE_LIMIT_PER_MINUTE: '1000000000',
    // The most render time a key may have (a burst of 10 s): every run of the template request renders.
    TEMPLATE_RENDER_MS_PER_SECOND: '1000',
    LOG_LEVEL: 'silent',
  });
  const app = Fastify({ logger: false, ...serverOptions(config) });
  await app.register(apiApp, {
    config,
    resources: async (instance) => {
      instance.decorate('ledger', { query: async (sql) => ({ rows: /join template_versions/.test(sql) ? [SLOW_TEMPLATE] : [] }) });
      instance.decorate('recordAccepted', async () => {});
      instance.decorate('emailQueue', { enqueue: async () => {}, ready: async () => true, partitionOf: () => 0 });
    },
  });
  await app.ready();
  const results = {};
  for (const [name, [url, body]] of Object.entries(HOSTILE_REQUESTS)) {
    const payload = JSON.stringify(body);
    let worst = 0;
    let status = 0;
    for (let i = 0; i < runs; i++) {
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      const res = await app.inject({
        method: 'POST',
        url,
        payload,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      });
      await new Promise((r) => setTimeout(r, 5));
      h.disable();
      status = res.statusCode;
      worst = Math.max(worst, h.max / 1e6);
    }
    results[name] = { status, bodyBytes: payload.length, maxBlockMs: Number(worst.toFixed(1)) };
    say(`hostile: ${name} → ${status}, worst event-loop block ${worst.toFixed(1)} ms`);
  }
  await app.close();
  return { targetMs: 50, requests: results };
}

// `node bench/lib/hostile-bench.mjs` (or `npm run bench:hostile`) runs this part alone, without a stack.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await hostileBench({ say: (l) => process.stderr.write(`[bench] ${l}\n`) }), null, 2));
}
