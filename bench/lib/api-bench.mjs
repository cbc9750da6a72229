// G1–G3 and the API's scaling: the API against a bare fastify and against Kafka's own producer.
import { join } from 'node:path';
import { producerPerformance } from './kafka-perf.mjs';
import { load, stopProcess, summary } from './measure.mjs';
import { openLoop } from './open-loop.mjs';

const ratio = (a, b) => summary(a).median / summary(b).median;

/** ctx: { root, say, stack, settings, perfTopic, startApi, startHello, startPeer, post, envelopeBytes } */
export async function apiBench(ctx, results) {
  const { say, settings, stack, perfTopic, envelopeBytes, post } = ctx;
  const { ROUNDS, SECONDS, CONNECTIONS } = settings;
  const hello = await ctx.startHello();
  const peer = await ctx.startPeer();
  const api = await ctx.startApi();
  const perf = (extra = {}) =>
    producerPerformance({ brokers: stack.env.KAFKA_BROKERS, topic: perfTopic, size: envelopeBytes, records: 40_000, ...extra });

  // One unmeasured round each: JIT, connection pools and Kafka metadata warm up first.
  await load({ url: hello.url, connections: CONNECTIONS, duration: SECONDS });
  await load({ ...post(peer.url), connections: CONNECTIONS, duration: SECONDS });
  await peer.reset();
  await load({ ...post(api.url), connections: CONNECTIONS, duration: SECONDS });

  // G1: API accepted/s vs the BullMQ peer's, interleaved round by round at each client count
  // (hello-world alongside, as context). G2 (vs ProducerPerformance) rides on the default count.
  results.G1 = { target: 1.0, byConnections: {} };
  const g2 = { api: [], perf: [] };
  // 64 clients as a busy app, and the bench's default load (256).
  for (const connections of [...new Set([64, CONNECTIONS])]) {
    const g1 = { api: [], peer: [], hello: [], apiP99: [], peerP99: [] };
    for (let r = 0; r < ROUNDS; r++) {
      g1.hello.push((await load({ url: hello.url, connections, duration: SECONDS })).rps);
      const a = await load({ ...post(api.url), connections, duration: SECONDS });
      if (a.errors) say(`api round ${r + 1}: ${a.errors} errors`);
      g1.api.push(a.rps);
      g1.apiP99.push(a.p99);
      const p = await load({ ...post(peer.url), connections, duration: SECONDS });
      if (p.errors) say(`peer round ${r + 1}: ${p.errors} errors`);
      g1.peer.push(p.rps);
      g1.peerP99.push(p.p99);
      await peer.reset();
      let line = `${connections} clients, round ${r + 1}/${ROUNDS}: hello ${g1.hello.at(-1).toFixed(0)}/s, api ${a.rps.toFixed(0)}/s (p99 ${a.p99} ms), BullMQ peer ${p.rps.toFixed(0)}/s (p99 ${p.p99} ms)`;
      if (connections === CONNECTIONS) {
        g2.api.push(a.rps);
        g2.perf.push((await perf()).rps);
        line += `, ProducerPerformance ${g2.perf.at(-1).toFixed(0)}/s`;
      }
      say(line);
    }
    results.G1.byConnections[connections] = {
      api: summary(g1.api),
      peer: summary(g1.peer),
      hello: summary(g1.hello),
      apiP99: summary(g1.apiP99),
      peerP99: summary(g1.peerP99),
      ratio: ratio(g1.api, g1.peer),
    };
  }
  const atDefault = results.G1.byConnections[CONNECTIONS];
  // The figures later parts read (G3's rate, the charts): the API at the default client count.
  Object.assign(results.G1, { api: atDefault.api, hello: atDefault.hello, peer: atDefault.peer });
  results.G2 = {
    api: summary(g2.api),
    producerPerformance: summary(g2.perf),
    ratio: ratio(g2.api, g2.perf),
    target: 0.5,
    recordBytes: envelopeBytes,
  };
  await peer.stop();

  // G3: latency at half the API maximum, against ProducerPerformance at the same rate: both pace
  // their requests evenly (autocannon's rate limit sends each second's share in a burst).
  const rate = Math.max(1, Math.round(results.G1.api.median * 0.5));
  const g3 = await openLoop({ ...post(api.url), connections: CONNECTIONS, duration: SECONDS * 2, rate });
  const perfAtRate = await perf({ records: rate * SECONDS * 2, throughput: rate });
  results.G3 = {
    rate,
    p50: g3.p50,
    p99: g3.p99,
    p999: g3.p999,
    errors: g3.errors,
    // How late the generator issued requests: not charged to the API, but shown.
    issuedLateP99: g3.issuedLateP99,
    issuedLateMax: g3.issuedLateMax,
    producerPerformanceP99: perfAtRate.p99,
    targetP99: 2 * perfAtRate.p99 + 5,
  };
  say(
    `G3 at ${rate}/s: p50 ${g3.p50} ms, p99 ${g3.p99} ms, p999 ${g3.p999} ms, errors ${g3.errors}, issued late by at most ${g3.issuedLateMax} ms (ProducerPerformance p99 ${perfAtRate.p99} ms)`,
  );
  await stopProcess(hello.child);
  return api;
}

/** API accepted/s as the micro-batching knobs and the number of clients move. */
export async function apiScaling(ctx, results) {
  const { say, settings, post } = ctx;
  results.scaling.api = [];
  const runs = [
    { linger: 0, batch: 500, producers: 1, connections: settings.CONNECTIONS },
    { linger: 2, batch: 50, producers: 1, connections: settings.CONNECTIONS },
    { linger: 2, batch: 500, producers: 1, connections: settings.CONNECTIONS },
    { linger: 5, batch: 500, producers: 1, connections: settings.CONNECTIONS },
    { linger: 2, batch: 500, producers: 3, connections: settings.CONNECTIONS },
    { linger: 2, batch: 500, producers: 1, connections: 64 },
    { linger: 2, batch: 500, producers: 1, connections: 512 },
  ];
  for (const run of runs) {
    const a = await ctx.startApi({
      PRODUCE_LINGER_MS: String(run.linger),
      PRODUCE_MAX_BATCH: String(run.batch),
      PRODUCERS: String(run.producers),
    });
    await load({ ...post(a.url), connections: run.connections, duration: 2 });
    const m = await load({ ...post(a.url), connections: run.connections, duration: settings.SECONDS });
    results.scaling.api.push({
      lingerMs: run.linger,
      maxBatch: run.batch,
      producers: run.producers,
      connections: run.connections,
      rps: m.rps,
      p99: m.p99,
    });
    say(`api linger ${run.linger} ms, batch ${run.batch}, producers ${run.producers}, ${run.connections} clients: ${m.rps.toFixed(0)}/s`);
    await stopProcess(a.child);
  }
}

export const helloEntry = (root) => join(root, 'bench/lib/hello.mjs');
