// The worst requests a key holder can send (hostile-requests.mjs), timed for how long each blocks the
// API's event loop: the real app with in-memory stand-ins for Kafka and Postgres (no stack needed),
// what is measured is reading, parsing and validating the body, which run on the event loop,
// handing a template's render to its thread, and kafkajs' encoding of the produce request (until
// 2026-12-04 it was left out: 28 ms of the loop for a 4 MB email, its CRC-32C then in JavaScript;
// the network round trip itself is not on the loop). The requests come over a real
// socket from a client process of its own (hostile-client.mjs), as a user's do: until 2026-12-04
// they were fastify's inject() in this process, which read a 1.5 MB batch's worst block as 2.4 ms
// where a socket measured 52-60 ms for the same build, and whose figure moved with how the body
// stream was piped (a Transform in front of the parser made it 30 ms), not with the API's work.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { app as apiApp, serverOptions } from '../../services/api/dist/app.js';
import { loadConfig } from '../../services/api/dist/config.js';
import { hostileRequests, hostileSubmissions, KEY, payloadOf, SLOW_TEMPLATE } from './hostile-requests.mjs';
import { nextTurn } from './next-turn.mjs';

// What kafkajs does on the event loop with a produce's messages before its request is written: the
// whole produce request encoded and framed, as its connection writes it to the socket: each message
// as a record, the records as a batch with its CRC-32C (native code since scripts/patch-kafkajs.mjs
// points kafkajs at @node-rs/crc32), the batch into the request (until 2026-12-04, only the batch).
const kafkajs = createRequire(import.meta.url);
const produceRequest = kafkajs('kafkajs/src/protocol/requests/produce/v7/request.js');
const frameRequest = kafkajs('kafkajs/src/protocol/request.js');
const encodeAsKafkajs = async (messages) => {
  const request = produceRequest({
    acks: -1,
    timeout: 30_000,
    compression: 0,
    topicData: [{ topic: 'emails', partitions: [{ partition: 0, firstSequence: 0, messages }] }],
  });
  // kafkajs' connection asks for the framed request's one buffer (its length, then the write).
  return (await frameRequest({ correlationId: 1, clientId: 'postline-api', request })).buffer;
};

/**
 * Each case's name and size. The bodies are built here only to be measured, and let go: held, they
 * were 33 MB of this process's heap (and 16 MB outside it) that a real API never holds, under its
 * 128 MB cap, and V8's mark-compacts took up to 66 ms in the rows they fell in.
 */
const sizes = (cases, bytesOf) => Object.entries(cases).map(([name, value]) => [name, bytesOf(value)]);

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
    SUBMISSION_PORT: '0',
  });
  const app = Fastify({ logger: false, ...serverOptions(config) });
  await app.register(apiApp, {
    config,
    resources: async (instance) => {
      // The produce and every statement end in a later turn, as Kafka's and Postgres' answers do.
      // Resolved at once, as until 2026-12-04 (and the ledger's statements until later that day:
      // a key's reservation, a template's lookup), they ran everything after them (the rows, the
      // suppression list, the answer) in the turn that parsed the body: a block the API never has.
      instance.decorate('ledger', {
        query: async (sql) => {
          await nextTurn();
          return { rows: /join template_versions/.test(sql) ? [SLOW_TEMPLATE] : [] };
        },
      });
      instance.decorate('recordAccepted', async () => {
        await nextTurn();
        return [];
      });
      instance.decorate('emailQueue', {
        enqueue: async (messages) => {
          await encodeAsKafkajs(messages);
          await nextTurn();
          return messages.map(() => ({ topic: 'emails', partition: 0 }));
        },
        ready: async () => true,
        keyedPartitionOf: () => 0,
      });
    },
  });
  // Each request's window: from its headers to 5 ms after its answer, so the body's reading,
  // parsing and validation, and the answer's writing are in it. A block is read as the longest gap
  // between the ticks of a 1 ms interval timer that runs throughout, less the interval. Not
  // monitorEventLoopDelay() enabled per request, as until 2026-12-04: its first tick records no
  // delay, so a request handled whole in the turn that enabled it (its body already read, as
  // inject() delivers it) blocked unseen: 1-3 samples a window, and 2.4 ms for a batch whose
  // validation alone took 20-50 ms (fastify's own hooks timed it).
  const requests = sizes(hostileRequests(), ([, body]) => Buffer.byteLength(payloadOf(body)));
  const requestBytes = Object.fromEntries(requests);
  const submissions = sizes(hostileSubmissions(), (raw) => raw.length);
  const names = requests.map(([name]) => name);
  const results = {};
  let lastTick = performance.now();
  let windowMax = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    windowMax = Math.max(windowMax, now - lastTick - 1);
    lastTick = now;
  }, 1);
  app.addHook('onRequest', async () => {
    windowMax = 0;
  });
  app.addHook('onResponse', async (request, reply) => {
    const name = names[Number(request.headers['x-bench-case'])];
    if (!name) return;
    setTimeout(() => {
      results[name] ??= { status: reply.statusCode, bodyBytes: requestBytes[name], maxBlockMs: 0 };
      results[name].maxBlockMs = Math.max(results[name].maxBlockMs, Number(windowMax.toFixed(1)));
    }, 5);
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const client = new URL('./hostile-client.mjs', import.meta.url).pathname;
  await promisify(execFile)(process.execPath, [client, address, String(runs)]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // One submission first, not measured: the first message loads the MIME parser (lazy-parser.ts),
  // once a process, 40-50 ms that the first row read as its own.
  const smallest = submissions.reduce((min, [, bytes], i, all) => (bytes < all[min][1] ? i : min), 0);
  await promisify(execFile)(process.execPath, [client, String(app.submissionPort()), '1', String(smallest)]);
  // Each hostile submission's window is its client's whole run (SMTP has no request hooks here).
  for (const [i, [name, bytes]] of submissions.entries()) {
    windowMax = 0;
    const { stdout } = await promisify(execFile)(process.execPath, [client, String(app.submissionPort()), String(runs), String(i)]);
    results[name] = { status: Number(stdout), bodyBytes: bytes, maxBlockMs: Number(windowMax.toFixed(1)) };
    names.push(name);
  }
  for (const name of names) {
    const r = results[name];
    say(`hostile: ${name} → ${r?.status}, worst event-loop block ${r?.maxBlockMs} ms`);
  }
  clearInterval(ticker);
  await app.close();
  return { targetMs: 50, requests: results };
}

// `node bench/lib/hostile-bench.mjs` (or `npm run bench:hostile`) runs this part alone, without a stack.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await hostileBench({ say: (l) => process.stderr.write(`[bench] ${l}\n`) }), null, 2));
}
