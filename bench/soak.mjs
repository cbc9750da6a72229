#!/usr/bin/env node
// `npm run bench:soak`: the API, a mailer and a webhook dispatcher, as users run them (production
// mode, every timing setting at its default), under a mixed load for BENCH_SOAK_MINUTES (20) at
// BENCH_SOAK_RATE operations/s (50; bench/lib/soak-load.mjs says what one is). It answers what a
// short benchmark cannot: does any service's memory grow with the hours (the heap left after
// garbage collection, per minute), and does every accepted email still arrive, once, with its
// webhook. Writes bench/results/soak-<date>.json; exits 1 if an email was lost or sent twice.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { startStack } from '../packages/stack/dist/index.js';
import { freePort, sleep, startProcess, stopProcess } from './lib/measure.mjs';
import { serviceSampler } from './lib/service-sampler.mjs';
import { startSink } from './lib/sink.mjs';
import { SUPPRESSED, soakLoad, TEMPLATE } from './lib/soak-load.mjs';
import { EMAIL, KEY } from './lib/workload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 20);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 50);
const say = (line) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'postline-soak-'));
chmodSync(dataDir, 0o755);
const stack = await startStack({ dataDir, kafkaPort: 9192, postgresPort: await freePort(), inbox: false, env: {}, progress: say });
const sink = await startSink();

// The webhook receiver: the first attempt of one event in 20 gets a 503, so retries run too.
const sent = new Set();
const seenWebhooks = new Set();
let deliveries = 0;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    deliveries++;
    const id = String(req.headers['webhook-id']);
    const first = !seenWebhooks.has(id);
    seenWebhooks.add(id);
    if (first && createHash('sha1').update(id).digest()[0] < 13) return res.writeHead(503).end();
    const event = JSON.parse(body);
    if (event.type === 'email.sent') sent.add(`<${event.data.emailId}@bench.example>`);
    res.writeHead(200).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

const [apiPort, submissionPort, mailerPort, webhooksPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const common = { ...stack.env, NODE_ENV: 'production', SENDER_DOMAINS: 'example.com', WEBHOOK_ALLOW_PRIVATE: 'true' };
const api = `http://127.0.0.1:${apiPort}`;
const services = {
  api: await startProcess(
    join(root, 'services/api/dist/server.js'),
    {
      ...common,
      PORT: String(apiPort),
      SUBMISSION_PORT: String(submissionPort),
      API_KEYS: `soak:${KEY}`,
      RATE_LIMIT_PER_MINUTE: '1000000000',
      REQUEST_RATE_LIMIT_PER_MINUTE: '1000000000',
    },
    `${api}/readyz`,
  ),
  mailer: await startProcess(
    join(root, 'services/mailer/dist/server.js'),
    { ...common, SMTP_URL: sink.url, MESSAGE_ID_DOMAIN: 'bench.example', METRICS_PORT: String(mailerPort) },
    `http://127.0.0.1:${mailerPort}/readyz`,
  ),
  webhooks: await startProcess(
    join(root, 'services/webhooks/dist/server.js'),
    { ...common, METRICS_PORT: String(webhooksPort) },
    `http://127.0.0.1:${webhooksPort}/readyz`,
  ),
};
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const setup = async (path, body) => {
  const res = await fetch(`${api}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
};
await setup('/v1/suppressions', { address: SUPPRESSED });
await setup('/v1/templates', {
  name: TEMPLATE,
  subject: 'Order {{ order }}',
  html: '<p>Thanks, {{ customer }}!</p>',
  text: 'Thanks, {{ customer }}!',
  variables: { customer: { type: 'string' }, order: { type: 'number' } },
  publish: true,
});
await setup('/v1/webhooks', { url: `http://127.0.0.1:${receiver.address().port}/hook`, events: ['*'] });

const sampler = serviceSampler({
  api: { pid: services.api.pid, metrics: `${api}/metrics`, prefix: 'postline_api_' },
  mailer: { pid: services.mailer.pid, metrics: `http://127.0.0.1:${mailerPort}/metrics`, prefix: 'postline_mailer_' },
  webhooks: { pid: services.webhooks.pid, metrics: `http://127.0.0.1:${webhooksPort}/metrics`, prefix: 'postline_webhooks_' },
});

// SMTP submission beside HTTP: two messages a second through a client's pooled connection.
const submitted = new Set();
const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: submissionPort, pool: true, auth: { user: 'apikey', pass: KEY } });
let submitting = true;
const submissions = (async () => {
  const errors = [];
  for (let n = 0; submitting; n++) {
    await smtp
      .sendMail({ from: EMAIL.from, to: EMAIL.to, subject: `soak ${n}`, text: EMAIL.text, messageId: `<soak-${n}@client.example>` })
      .then((info) => submitted.add(`<${/queued as (\S+)/.exec(info.response)?.[1]}@bench.example>`))
      .catch((e) => errors.length < 5 && errors.push(e.message));
    await sleep(500);
  }
  return errors;
})();

say(`load: ${RATE} operations/s for ${MINUTES} min`);
let lastSay = 0;
const load = await soakLoad({
  url: api,
  key: KEY,
  rate: RATE,
  seconds: MINUTES * 60,
  onTick: (i, inFlight) => {
    if (Date.now() - lastSay < 60_000) return;
    lastSay = Date.now();
    say(`${i} operations, ${inFlight} in flight, ${sink.arrivals.size} arrived; ${sampler.line()}`);
  },
});
const memory = sampler.stop();
submitting = false;
const submitErrors = await submissions;
smtp.close();
for (const id of submitted) load.expected.add(id);

// Everything accepted must arrive (scheduled ones 15 s after their POST), and each email.sent reach the receiver.
const missing = (set) => [...load.expected].filter((id) => !set.has(id));
for (const deadline = Date.now() + 180_000; Date.now() < deadline && (missing(sink.arrivals).length || missing(sent).length); )
  await sleep(1_000);
const result = {
  date: new Date().toISOString(),
  settings: { MINUTES, RATE },
  accepted: load.expected.size,
  statuses: load.statuses,
  problems: load.problems,
  submitErrors,
  lost: missing(sink.arrivals).length,
  duplicated: sink.count - sink.arrivals.size,
  webhooksMissing: missing(sent).length,
  webhookRequests: deliveries,
  memory,
};
writeFileSync(join(root, `bench/results/soak-${result.date.slice(0, 10)}.json`), `${JSON.stringify(result, null, 2)}\n`);
say(JSON.stringify({ ...result, memory: undefined }));
for (const [name, m] of Object.entries(memory)) say(`${name}: ${m.summary}`);
for (const child of Object.values(services)) await stopProcess(child);
receiver.close();
await sink.close();
await stack.stop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(result.lost === 0 && result.duplicated === 0 && load.problems.length === 0 ? 0 : 1);
