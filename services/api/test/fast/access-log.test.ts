// test-plan: standalone
import t from 'tap';
import { AUTH, email, KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { submissionTransport } from '../../../../test/helpers/smtp-clients.js';

// At the default level (info) each HTTP request writes one access line, with what the route
// added (the accepted ids); an SMTP submission, which has no access line, logs its own.

type Line = Record<string, unknown> & { msg: string; reqId?: string };

// Every warning the process prints while this file's APIs boot and answer (checked by the last test).
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));

async function loggedApi(t: Parameters<typeof buildMemoryApi>[0], env: Record<string, string> = {}) {
  const lines: Line[] = [];
  const { app } = await buildMemoryApi(t, { LOG_LEVEL: 'info', ...env }, { write: (line) => void lines.push(JSON.parse(line)) });
  /** POSTs an email with its own request id; the answer and the lines logged under that id. */
  const post = async (reqId: string, payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/emails', headers: { ...AUTH, 'x-request-id': reqId }, payload });
    return { res, mine: lines.filter((l) => l.reqId === reqId) };
  };
  return { app, lines, post };
}

t.test('an accepted email: one line for its request, with the ids, the status and the time, and no body', async (t) => {
  const { lines, post } = await loggedApi(t);
  const { res, mine } = await post('req-accepted', email({ subject: 'secret subject', text: 'secret body' }));
  t.equal(res.statusCode, 202);
  t.same(
    mine.map((l) => l.msg),
    ['request completed'],
    'one line, where fastify wrote two and the route a third',
  );
  t.match(mine[0], {
    req: { method: 'POST', url: '/v1/emails' },
    res: { statusCode: 202 },
    responseTime: Number,
    ids: [res.json().id],
    account: 'test',
  });
  t.notMatch(JSON.stringify(lines), /secret|Authorization|authorization/, 'neither the email nor the key is logged');
});

t.test('a refused request: its line has the status and no ids', async (t) => {
  const { post } = await loggedApi(t);
  const { res, mine } = await post('req-refused', { ...email(), to: 'not an address' });
  t.equal(res.statusCode, 400);
  t.equal(mine.length, 1, 'one line');
  t.match(mine[0], { msg: 'request completed', res: { statusCode: 400 } });
  t.notOk('ids' in (mine[0] ?? {}), 'no ids: nothing was accepted');
});

t.test('an SMTP submission logs its accepted ids itself', async (t) => {
  const { app, lines } = await loggedApi(t, { SUBMISSION_PORT: '0' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const transport = submissionTransport(t, app.submissionPort() as number, KEY);
  await transport.sendMail({ from: 'sender@example.com', to: 'someone@example.net', subject: 'Hi', text: 'hello' });
  t.ok(await waitUntil(() => lines.some((l) => l.msg === 'emails accepted'), 5_000), 'an "emails accepted" line');
  t.match(
    lines.find((l) => l.msg === 'emails accepted'),
    { account: 'test', ids: [String] },
  );
});

t.test('the API boots and answers without a deprecation warning', async (t) => {
  const { post } = await loggedApi(t);
  t.equal((await post('req-warnings', email())).res.statusCode, 202);
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  // fastify 5.12 deprecated the top-level `disableRequestLogging` with a warning at every boot.
  t.same(
    warnings.map((w) => `${w.name}: ${w.message}`),
    [],
    'none',
  );
});

t.test('a dependency down: one access line a request, and its cause once, not once a request', async (t) => {
  // The in-memory tier's ledger refuses every query, as an unreachable Postgres would.
  const { app, lines } = await loggedApi(t);
  const id = '01a237de-8b0a-79a5-bb6c-37e5f90c5d3f';
  for (let i = 0; i < 30; i++) {
    const res = await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: AUTH });
    t.equal(res.statusCode, 503);
  }
  for (let i = 0; i < 30; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/emails',
      headers: { ...AUTH, 'idempotency-key': `k-${i}` },
      payload: email(),
    });
    t.equal(res.statusCode, 202, 'accepted without the ledger (its documented fallback)');
  }
  const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
  t.equal(count('request completed'), 60, 'every request has its access line');
  t.equal(count('request failed'), 1, 'the 503s: one line (before, one a request)');
  t.match(
    lines.find((l) => l.msg === 'request failed'),
    { level: 40, code: 'EMAIL_ERR_LEDGER_UNAVAILABLE', err: { message: /no ledger in the in-memory tier/ } },
    "it says why: Postgres' error, as the 503's cause",
  );
  t.equal(count('ledger unavailable: idempotency reservation skipped'), 1, 'the 202s without a reservation: one line');
  const answer = await app.inject({ method: 'GET', url: `/v1/emails/${id}`, headers: AUTH });
  t.notMatch(answer.body, /no ledger/, 'the cause is logged, never answered');
});
