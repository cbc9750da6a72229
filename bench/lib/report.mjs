// docs/benchmarks.md and its SVG charts, from one run's results.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart } from './charts.mjs';
import { findings } from './findings.mjs';

const f = (n, d = 0) => Number(n).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const range = (s, d = 0) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const verdict = (ok) => (ok ? '✅ met' : '❌ missed');

export function writeReport(root, r, stamp) {
  const docs = join(root, 'docs');
  mkdirSync(docs, { recursive: true });
  const bar = (label, s, color) => ({ label, value: s.median, min: s.min, max: s.max, color });
  writeFileSync(
    join(docs, 'bench-throughput.svg'),
    barChart(`Throughput, median and min–max of ${r.settings.ROUNDS} interleaved rounds (${stamp})`, '/s', [
      bar('fastify hello-world', r.G1.hello, '#999'),
      ...Object.entries(r.G1.byConnections).flatMap(([c, g]) => [
        bar(`BullMQ peer, ${c} clients`, g.peer, '#999'),
        bar(`API: emails accepted, ${c} clients`, g.api),
      ]),
      bar('Kafka ProducerPerformance', r.G2.producerPerformance, '#999'),
      bar('raw pooled nodemailer', r.G4.rawNodemailer, '#999'),
      bar('mailer: emails sent', r.G4.mailer),
    ]),
  );
  writeFileSync(
    join(docs, 'bench-latency.svg'),
    barChart(`POST latency at ${f(r.G3.rate)}/s, 50 % of the API maximum (${stamp})`, 'ms', [
      { label: 'API p50', value: r.G3.p50 },
      { label: 'API p99', value: r.G3.p99 },
      { label: 'API p99.9', value: r.G3.p999 },
      { label: 'ProducerPerformance p99', value: r.G3.producerPerformanceP99, color: '#999' },
      { label: 'target for the API p99', value: r.G3.targetP99, color: '#ccc' },
    ]),
  );
  const e2e = [...(r.G5.sweep ?? []), { rate: r.G5.rate, p50: r.G5.p50, p99: r.G5.p99 }];
  writeFileSync(
    join(docs, 'bench-end-to-end.svg'),
    barChart(`202 → message at the SMTP server, p99 by request rate (${stamp})`, 'ms', [
      ...e2e.map((e) => ({ label: `p99 @ ${f(e.rate)}/s`, value: e.p99 })),
      { label: 'target', value: 50, color: '#ccc' },
    ]),
  );
  writeFileSync(
    join(docs, 'bench-api-scaling.svg'),
    barChart(`API accepted emails/s by setting (${stamp})`, '/s', [
      ...r.scaling.api.map((a) => ({
        label: `${a.connections} clients, linger ${a.lingerMs}, batch ${a.maxBatch}${a.producers > 1 ? `, ${a.producers} producers` : ''}`,
        value: a.rps,
      })),
    ]),
  );
  const md = `# Benchmarks

Measured by \`npm run bench\` (${r.date}) on ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GiB,
Node ${r.machine.node}, ${r.machine.java}, Kafka ${r.machine.kafka}. Everything — three brokers, Postgres, the SMTP
sink, the services and the load generator — shares those cores, so the ratios matter, not the absolutes. Each
comparison is interleaved (A B A B …, ${r.settings.ROUNDS} rounds of ${r.settings.SECONDS} s, ${r.settings.CONNECTIONS}
connections unless a row says otherwise); figures are medians with min–max. Raw figures: \`bench/results/${stamp}.json\`.
${warmup(r)}
G1's peer is what a Node team would run instead (\`bench/peers/bullmq-api.mjs\`): fastify + zod validating the same
request, adding it to BullMQ on one Debian \`redis-server\` with an append-only file fsynced every second, and
answering 202 once Redis has it — one copy, where the API answers after three replicas (acks=all, two in sync).

![throughput](bench-throughput.svg)
![latency](bench-latency.svg)
![end to end](bench-end-to-end.svg)

| | measured | target | |
| --- | --- | --- | --- |
${Object.entries(r.G1.byConnections)
  .map(
    ([c, g]) =>
      `| **G1** API accepted emails/s ÷ the BullMQ peer's, ${c} clients (p99 ${f(g.apiP99.median)} vs ${f(g.peerP99.median)} ms) | ${range(g.api)} ÷ ${range(g.peer)} = **${f(g.ratio, 2)}** | ≥ ${f(r.G1.target, 1)} | ${verdict(g.ratio >= r.G1.target)} |`,
  )
  .join('\n')}
| fastify hello-world, ${r.settings.CONNECTIONS} clients (context) | ${range(r.G1.hello)} | | |
| **G2** API accepted emails/s ÷ Kafka ProducerPerformance (acks=all, idempotent, ${r.G2.recordBytes} B) | ${range(r.G2.api)} ÷ ${range(r.G2.producerPerformance)} = **${f(r.G2.ratio, 2)}** | ≥ ${f(r.G2.target, 1)} | ${verdict(r.G2.ratio >= r.G2.target)} |
| **G3** POST latency at ${r.G3.rate}/s (50 % of G1), paced evenly | p50 ${r.G3.p50} ms, p99 ${r.G3.p99} ms, p99.9 ${r.G3.p999} ms, ${r.G3.errors} errors${r.G3.issuedLateMax === undefined ? '' : `; requests issued late by at most ${r.G3.issuedLateMax} ms`} | p99 ≤ 2 × ${r.G3.producerPerformanceP99} + 5 = ${r.G3.targetP99} ms, 0 errors | ${verdict(r.G3.p99 <= r.G3.targetP99 && r.G3.errors === 0)} |
| **G4** mailer emails/s ÷ raw pooled nodemailer (${r.G4.poolSize} connections) | ${range(r.G4.mailer)} ÷ ${range(r.G4.rawNodemailer)} = **${f(r.G4.ratio, 2)}** | ≥ 0.80 | ${verdict(r.G4.ratio >= 0.8)} |
| **G5** 202 → message received, at ${r.G5.rate}/s (50 % of G4) | p50 ${f(r.G5.p50, 1)} ms, p99 ${f(r.G5.p99, 1)} ms (${r.G5.samples} samples) | p99 ≤ 50 ms | ${verdict(r.G5.p99 <= 50)} |
${(r.G5.sweep ?? []).map((e) => `| G5 at ${e.rate}/s | p50 ${f(e.p50, 1)} ms, p99 ${f(e.p99, 1)} ms | p99 ≤ 50 ms | ${verdict(e.p99 <= 50)} |`).join('\n')}
| Peak RSS | API ${f(r.rss.apiMb)} MB, mailer ${f(r.rss.mailerMb)} MB | ≤ 150 / ≤ 200 MB | ${verdict(r.rss.apiMb <= 150 && r.rss.mailerMb <= 200)} |
${Object.entries(r.hostile?.requests ?? {})
  .map(
    ([name, h]) =>
      `| Hostile request: ${name} | ${h.status}, worst event-loop block ${h.maxBlockMs} ms | < 50 ms | ${verdict(h.maxBlockMs < 50)} |`,
  )
  .join('\n')}

## Scaling

Each row is a single ${r.settings.SECONDS} s run after a 2 s warm-up, not interleaved: read the trends, not differences
of a few hundred per second (between two full runs the same row moved by up to a quarter).

![API scaling](bench-api-scaling.svg)

| API: PRODUCE_LINGER_MS | PRODUCE_MAX_BATCH | PRODUCERS | clients | accepted/s | p99 ms |
| --- | --- | --- | --- | --- | --- |
${r.scaling.api.map((s) => `| ${s.lingerMs} | ${s.maxBatch} | ${s.producers} | ${s.connections} | ${f(s.rps)} | ${s.p99} |`).join('\n')}

| mailer: SENDS_PER_PARTITION | SMTP_POOL_SIZE | sent/s |
| --- | --- | --- |
${r.scaling.mailer.map((s) => `| ${s.sendsPerPartition} | ${s.poolSize} | ${f(s.rps)} |`).join('\n')}
`;
  writeFileSync(join(docs, 'benchmarks.md'), `${md}\n${findings(r)}`);
}

/** The brokers' warm-up (runs before 2026-12-01 had none: their first rounds met the brokers' JIT at work). */
function warmup(r) {
  if (!r.warmup) return 'The brokers were not warmed up first in this run: its first rounds shared the cores with their JIT compilers.';
  return `Before any measured round the brokers were loaded by ProducerPerformance until their JIT compilers were quiet (under 5 % of a core over a round): ${r.warmup.rounds} rounds, ${Math.round(r.warmup.seconds)} s.`;
}
