// The soak's workload: what a mixed production day looks like to the API, in one repeating cycle
// of 20 operations, issued at a fixed rate (an open loop) for as long as the soak lasts. It keeps
// every 202's Message-ID, sorted by what must happen to it: arrive at the SMTP sink, or not.
import { Pool } from 'undici';
import { sleep } from './measure.mjs';
import { EMAIL } from './workload.mjs';

export const SUPPRESSED = 'gone@example.net';
export const TEMPLATE = 'soak-receipt';

const messageId = (id) => `<${id}@bench.example>`;

/**
 * The cycle, by the position of an operation in it (i % 20): 14 plain sends, one with a new
 * Idempotency-Key, one repeating an earlier key (must answer the same id), a batch of 4, one
 * scheduled 15 s ahead, one to a suppressed recipient beside a deliverable one, one from a template.
 */
function operation(i, keys, idemCount) {
  const slot = i % 20;
  const later = () => new Date(Date.now() + 15_000).toISOString();
  if (slot < 14) return { path: '/v1/emails', body: EMAIL };
  if (slot === 14) return { path: '/v1/emails', body: EMAIL, key: `soak-${idemCount}` };
  if (slot === 15) return { path: '/v1/emails', body: EMAIL, key: keys.length ? keys[(i * 7) % keys.length] : 'soak-0', repeat: true };
  if (slot === 16) return { path: '/v1/emails/batch', body: { emails: [EMAIL, EMAIL, EMAIL, EMAIL] } };
  if (slot === 17) return { path: '/v1/emails', body: { ...EMAIL, scheduledAt: later() } };
  if (slot === 18) return { path: '/v1/emails', body: { ...EMAIL, to: [SUPPRESSED], cc: ['kept@example.net'] }, partlySuppressed: true };
  const { from, to } = EMAIL;
  return { path: '/v1/emails', body: { from, to, template: { name: TEMPLATE, variables: { customer: 'Ann', order: i } } } };
}

/**
 * Runs `rate` operations/s for `seconds` against `url`. Besides, every fifth operation reads an
 * earlier email's status and every 25th its events. Returns the Message-IDs that must reach the
 * sink (`expected`) and the counts of answers by status.
 */
export async function soakLoad({ url, key, rate, seconds, onTick }) {
  const pool = new Pool(url, { connections: 32, pipelining: 1 });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const expected = new Set();
  const ids = [];
  const keys = [];
  const keyIds = new Map();
  const statuses = {};
  const problems = [];
  const count = (s) => (statuses[s] = (statuses[s] ?? 0) + 1);
  const send = async (op) => {
    const h = op.key ? { ...headers, 'idempotency-key': op.key } : headers;
    const res = await pool.request({ path: op.path, method: 'POST', headers: h, body: JSON.stringify(op.body) });
    const text = await res.body.text();
    count(res.statusCode);
    if (res.statusCode !== 202) return problems.length < 20 && problems.push(`${res.statusCode} ${text.slice(0, 200)}`);
    const answer = JSON.parse(text);
    for (const a of answer.data ?? [answer]) {
      expected.add(messageId(a.id));
      ids.push(a.id);
    }
    if (op.partlySuppressed && !(answer.suppressed ?? []).includes(SUPPRESSED)) problems.push(`202 without suppressed: ${text}`);
    if (op.key && !op.repeat) {
      keys.push(op.key);
      keyIds.set(op.key, answer.id);
    }
    if (op.repeat && keyIds.has(op.key) && keyIds.get(op.key) !== answer.id)
      problems.push(`key ${op.key}: ${answer.id} != ${keyIds.get(op.key)}`);
  };
  const read = async (path) => {
    const res = await pool.request({ path, method: 'GET', headers });
    await res.body.dump();
    count(`GET ${res.statusCode}`);
  };
  const pending = new Set();
  const track = (p) => {
    const q = p.catch((e) => problems.length < 20 && problems.push(`request failed: ${e.message}`)).finally(() => pending.delete(q));
    pending.add(q);
  };
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let idemCount = 0;
  for (let i = 0; i < total; ) {
    for (; i < total && start + (i * 1000) / rate <= performance.now(); i++) {
      const op = operation(i, keys, idemCount);
      if (op.key && !op.repeat) idemCount++;
      track(send(op));
      if (i % 5 === 0 && ids.length) track(read(`/v1/emails/${ids[(i * 13) % ids.length]}`));
      if (i % 25 === 0 && ids.length) track(read(`/v1/emails/${ids[(i * 17) % ids.length]}/events`));
    }
    onTick?.(i, pending.size);
    await sleep(Math.max(1, start + (i * 1000) / rate - performance.now()));
  }
  await Promise.all(pending);
  await pool.close();
  return { expected, statuses, problems, accepted: ids.length };
}
