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
