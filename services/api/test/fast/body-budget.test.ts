// test-plan: standalone
import { type ClientRequest, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { AUTH, email, KEY } from '../../../../test/helpers/api.js';
import { waitUntil } from '../../../../test/helpers/env.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { submissionTransport } from '../../../../test/helpers/smtp-clients.js';
import { authPlain, startMessage } from '../../../../test/helpers/smtp-raw.js';
import { BODY_WAIT_MS, BodyBudget } from '../../src/body-budget.js';

t.test('BodyBudget: what fits is held at once, what does not waits its turn or gives up', async (t) => {
  const budget = new BodyBudget(100);
  const a = await budget.acquire(60, 1_000, 'a');
  t.ok(a, 'fits: held at once');
  let bGranted = false;
  const b = budget.acquire(50, 1_000, 'a').then((r) => {
    bGranted = true;
    return r;
  });
  const small = await budget.acquire(30, 1_000, 'a');
  t.ok(small, 'a body that fits does not wait behind one that does not');
  t.equal(budget.inUse, 90);
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(bGranted, '60 + 30 held: 50 waits');
  a?.();
  a?.();
  t.ok(await b, 'granted once room was released');
  t.equal(budget.inUse, 80, 'a release counts once, however often it is called');
  t.equal(await budget.acquire(30, 20, 'a'), null, 'no room within its wait: null');
  t.equal(budget.inUse, 80, 'a waiter that gave up holds nothing');
  small?.();
  (await b)?.();
  const huge = await budget.acquire(1_000, 20, 'a');
  t.ok(huge, 'more than the capacity runs alone, when nothing else is held');
  t.equal(budget.inUse, 100);
  huge?.();
});

t.test('BodyBudget: release(keep) gives back all but what is kept; a waiter is let in at once', async (t) => {
  // What a template request does: room for the most it may render, then only what it rendered.
  const budget = new BodyBudget(100);
  const most = await budget.acquire(90, 1_000, 'a');
  let waiterIn = false;
  const waiter = budget.acquire(50, 1_000, 'b').then((r) => {
    waiterIn = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(waiterIn, '90 held: 50 waits');
  most?.(30);
  t.equal(budget.inUse, 80, '30 kept, and the waiter let in');
  t.ok(await waiter);
  t.equal(budget.heldBy('a'), 30);
  most?.(60);
  t.equal(budget.heldBy('a'), 30, 'keeping more than is held takes nothing back');
  most?.();
  most?.();
  t.equal(budget.heldBy('a'), 0, 'then release() gives back the rest, once');
  t.equal(budget.inUse, 50);
  (await waiter)?.();
});

t.test('BodyBudget: one owner holds at most the capacity less one largest body; the others find room', async (t) => {
  const budget = new BodyBudget(100, 30);
  t.equal(budget.share, 70, 'the share: all but one largest body');
  const a = await Promise.all([budget.acquire(30, 1_000, 'a'), budget.acquire(30, 1_000, 'a')]);
  let third = false;
  const aThird = budget.acquire(30, 1_000, 'a').then((r) => {
    third = true;
    return r;
  });
  const b = await budget.acquire(30, 20, 'b');
  t.ok(b, "another owner's largest body fits at once");
  t.equal(budget.heldBy('a'), 60);
  t.equal(budget.heldBy('b'), 30);
  t.notOk(third, "a third of a's waits: 90 would pass its share of 70");
  b?.();
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(third, 'still, though the room is free: it is the share that is full');
  a[0]?.();
  t.ok(await aThird, 'granted once a body of its own was released');
  t.equal(budget.heldBy('a'), 60);
  (await aThird)?.();
  a[1]?.();
  t.equal(budget.heldBy('a'), 0, 'released, the owner holds nothing');
  t.equal(new BodyBudget(100, 100).share, 100, 'no larger than the capacity: one body at a time, owned by anyone');
  t.equal(new BodyBudget(100, 60).share, 60, 'less than two largest bodies: the share is one');
});

/** Starts a POST that declares `length` bytes and sends only `sent` of them; answers when it ends. */
function partialPost(port: number, headers: Record<string, string>, length: number, sent: string) {
  let req: ClientRequest | undefined;
  const answer = new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    req = request(
      {
        port,
        method: 'POST',
        path: '/v1/emails',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(length) },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.write(sent);
  });
  return { answer, write: (more: string) => req?.write(more), finish: (rest: string) => req?.end(rest), abort: () => req?.destroy() };
}

t.test('request bodies held at once are bounded (BODY_BYTES_IN_FLIGHT), HTTP and SMTP submission together', async (t) => {
  const limit = 64 * 1024;
  const { app } = await buildMemoryApi(t, {
    BODY_LIMIT_BYTES: String(limit),
    BODY_BYTES_IN_FLIGHT: String(limit),
    SUBMISSION_PORT: '0',
    SUBMISSION_MAX_BYTES: String(limit),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const json = (type: string) => ({ ...AUTH, 'x-test': type });

  // A key holder's slow upload of 60 KB holds 60 KB of the 64 KB.
  const body = JSON.stringify(email({ text: 'x'.repeat(60_000) }));
  const slow = partialPost(port, json('slow'), body.length, body.slice(0, 1_000));
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === body.length, 5_000, 10),
    true,
    'the slow upload holds its declared size',
  );

  // Without a key nothing is held: the 401 comes before the body is read.
  const anonymous = partialPost(port, {}, 60_000, '{');
  t.equal((await anonymous.answer).status, 401);
  anonymous.abort();
  t.equal(app.bodyBudget.inUse, body.length, 'a client without a key holds no room');

  // An ordinary email fits beside it and is accepted at once.
  const small = await app.inject({ method: 'POST', url: '/v1/emails', headers: AUTH, payload: email() });
  t.equal(small.statusCode, 202, 'a small body does not wait');

  // A 10 KB email does not fit: it waits until the slow upload is answered, then goes through.
  const medium = JSON.stringify(email({ text: 'y'.repeat(10_000) }));
  let mediumDone = false;
  const waiting = partialPost(port, json('medium'), medium.length, medium);
  waiting.finish('');
  void waiting.answer.then(() => (mediumDone = true));
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(mediumDone, 'the 10 KB body waits while 60 KB are held');
  slow.finish(body.slice(1_000));
  t.equal((await slow.answer).status, 202, 'the slow upload is accepted');
  t.equal((await waiting.answer).status, 202, 'then the waiting one is accepted');
  t.equal(app.bodyBudget.inUse, 0, 'every byte released once answered');

  // Held again, by an upload that never finishes but keeps sending (one that stalls gives its room
  // back after BODY_IDLE_MS: body-timeout.test.ts); a 10 KB body and an SMTP submission give up after BODY_WAIT_MS.
  const stuck = partialPost(port, json('stuck'), body.length, body.slice(0, 10));
  const trickle = setInterval(() => stuck.write(' '), 2_000);
  await waitUntil(() => app.bodyBudget.inUse === body.length, 5_000, 10);
  const started = Date.now();
  const refused = partialPost(port, json('refused'), medium.length, medium);
  refused.finish('');
  const transport = submissionTransport(t, app.submissionPort() as number, KEY);
  const submitted = transport
    .sendMail({ from: 'sender@example.com', to: 'someone@example.net', subject: 'Hi', text: 'z'.repeat(20_000) })
    .then(
      () => null,
      (error: { responseCode?: number; response?: string }) => error,
    );
  const answer = await refused.answer;
  t.ok(Date.now() - started >= BODY_WAIT_MS - 100, `refused after waiting ${Date.now() - started} ms`);
  t.equal(answer.status, 503);
  t.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(JSON.parse(answer.body).code, 'EMAIL_ERR_BUSY');
  t.equal(answer.headers['retry-after'], '1');
  const smtpError = await submitted;
  t.equal(smtpError?.responseCode, 451, `the submission is a 4xx the client retries: ${smtpError?.response}`);
  const stuckAnswer = stuck.answer.catch((error: Error) => error);
  clearInterval(trickle);
  stuck.abort();
  t.match(await stuckAnswer, { code: 'ECONNRESET' }, 'the stuck upload gave up');
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === 0, 5_000, 10),
    true,
    'an aborted upload releases its room',
  );

  // A submission cut mid-DATA releases its room too.
  const cut = await startMessage(app.submissionPort() as number, [
    authPlain(KEY),
    'MAIL FROM:<sender@example.com>',
    'RCPT TO:<someone@example.net>',
  ]);
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === limit, 5_000, 10),
    true,
    'a submission in DATA holds a block (SMTP_ROOM_BLOCK, here all of SUBMISSION_MAX_BYTES)',
  );
  cut.destroy();
  await t.resolveMatch(
    waitUntil(() => app.bodyBudget.inUse === 0, 5_000, 10),
    true,
    'and gives it back when its client goes away',
  );
});
