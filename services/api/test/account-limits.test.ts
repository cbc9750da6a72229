import { MAX_TEMPLATE_SOURCE } from '@postline/contracts';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { AUTH, buildApi, KEY, OTHER_KEY } from '../../../test/helpers/api.js';
import { uniqueName } from '../../../test/helpers/env.js';

const from = 'Shop <orders@example.com>';
const to = 'someone@example.net';

// Account-wide limits on what a key holder can store, on their defaults: MAX_WEBHOOK_ENDPOINTS
// (16) and TEMPLATE_STORAGE_BYTES (64 MiB). Accounts of their own, so that other files' endpoints
// and templates (the same Postgres) do not count here.
const OTHER = { authorization: `Bearer ${OTHER_KEY}` };
// An account of its own for the render time: the storage test spends AUTH's on parsing.
const THIRD_KEY = 'third-secret-0123456789abcdef';
const THIRD = { authorization: `Bearer ${THIRD_KEY}` };
// The endpoints are on loopback (nothing receives here; the dispatcher is not running).
const built = buildApi(t, {
  API_KEYS: `${uniqueName('limits')}:${KEY},${uniqueName('limits')}:${OTHER_KEY},${uniqueName('limits')}:${THIRD_KEY}`,
  WEBHOOK_ALLOW_PRIVATE: 'true',
});

async function call(app: FastifyInstance, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: object = AUTH) {
  for (;;) {
    const res = await app.inject({ method, url, headers: { ...headers }, ...(payload ? { payload } : {}) });
    // Parsing the largest template takes about 25 ms of the account's render time (100 ms a
    // second, a burst of 1 s): creating dozens in a row is paced, and a client waits as told.
    if (res.statusCode === 429) {
      await new Promise((resolve) => setTimeout(resolve, Number(res.headers['retry-after']) * 1000));
      continue;
    }
    return { status: res.statusCode, body: res.body ? res.json() : null };
  }
}

t.test('MAX_WEBHOOK_ENDPOINTS: 20 created at once make 16; another account is not affected; a delete frees one', async (t) => {
  const { app, config } = await built;
  t.equal(config.MAX_WEBHOOK_ENDPOINTS, 16, 'the default');
  // Each endpoint receives every event of the account: one email's events times the endpoints.
  const create = (headers: object = AUTH) => call(app, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['*'] }, headers);
  const answers = await Promise.all(Array.from({ length: 20 }, () => create()));
  const created = answers.filter((a) => a.status === 201);
  t.equal(created.length, 16, 'exactly the limit, though all 20 came at once');
  for (const refused of answers.filter((a) => a.status !== 201)) {
    t.match(refused, { status: 409, body: { code: 'EMAIL_ERR_LIMIT_REACHED', detail: /at most 16 webhook endpoints/ } });
  }
  t.equal((await create(OTHER)).status, 201, 'another account has its own 16');
  t.equal((await call(app, 'DELETE', `/v1/webhooks/${created[0]?.body.id}`)).status, 204);
  t.equal((await create()).status, 201, 'a delete frees one');
  t.equal((await create()).status, 409);
});

t.test('TEMPLATE_STORAGE_BYTES: versions add up to the limit; a draft edit replaces its bytes; a delete frees them', async (t) => {
  const { app, config } = await built;
  t.equal(config.TEMPLATE_STORAGE_BYTES, 64 * 1024 * 1024, 'the default');
  // The largest template: three parts at the source limit, about 1.5 MiB of source a version.
  const part = (c: string) => c.repeat(MAX_TEMPLATE_SOURCE);
  const largest = (name: string) => ({ name, subject: part('s'), html: part('h'), text: part('t'), variables: {}, publish: true });
  // What a version counts: its source and 4 KiB for its row, index entries and line in the list.
  const size = 3 * MAX_TEMPLATE_SOURCE + 4096;
  const fit = Math.floor(config.TEMPLATE_STORAGE_BYTES / size);
  const ids: string[] = [];
  for (let i = 0; i < fit; i++) {
    const res = await call(app, 'POST', '/v1/templates', largest(uniqueName('big')));
    t.equal(res.status, 201, `template ${i + 1} of ${fit}`);
    ids.push(res.body.id);
  }
  const over = await call(app, 'POST', '/v1/templates', largest(uniqueName('big')));
  t.match(over, {
    status: 409,
    body: {
      code: 'EMAIL_ERR_LIMIT_REACHED',
      detail: `the account's template versions count ${fit * size} bytes (their source, and 4 KiB each), and TEMPLATE_STORAGE_BYTES allows 67108864: delete a template first`,
    },
  });
  t.equal((await call(app, 'POST', '/v1/templates', largest(uniqueName('big')), OTHER)).status, 201, 'another account has its own');

  // A published version is kept: an edit starts a new version, which does not fit.
  const [first, second] = ids as [string, string];
  t.match(await call(app, 'PATCH', `/v1/templates/${first}`, { html: part('H') }), {
    status: 409,
    body: { code: 'EMAIL_ERR_LIMIT_REACHED' },
  });
  // Freed: one template's versions. Then a draft edited in place replaces its bytes, again and again.
  t.equal((await call(app, 'DELETE', `/v1/templates/${second}`)).status, 204);
  const draft = await call(app, 'PATCH', `/v1/templates/${first}`, { html: part('H') });
  t.equal(draft.status, 200, 'a new draft version fits in the room the delete freed');
  for (const c of ['I', 'J', 'K'])
    t.equal((await call(app, 'PATCH', `/v1/templates/${first}`, { html: part(c) })).status, 200, `draft edit ${c}`);
  t.equal(draft.body.latestVersion, 2);

  // Room for one more (another delete), and two creations at once: the account's writes take
  // turns, so one of them fits and the other is refused.
  t.equal((await call(app, 'DELETE', `/v1/templates/${ids[2]}`)).status, 204);
  const both = await Promise.all([1, 2].map(() => call(app, 'POST', '/v1/templates', largest(uniqueName('big')))));
  t.same(both.map((b) => b.status).sort(), [201, 409]);
});

t.test(
  'TEMPLATE_RENDER_MS_PER_SECOND: a key whose templates run to the render limit gets 429s; other keys and plain sends do not',
  async (t) => {
    const { app, config } = await built;
    t.equal(config.TEMPLATE_RENDER_MS_PER_SECOND, 100, 'the default');
    const create = async (headers: object, text: string, variables: object) => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/templates',
        headers: { ...headers },
        payload: { name: uniqueName('t'), subject: 'Hi', text, variables, publish: true },
      });
      return res.json().id as string;
    };
    // Three nested loops over 2,000 items: each send runs to the render limit, and is a 400.
    const loops = '{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x';
    const slow = await create(THIRD, loops, { items: { type: 'array' } });
    const fast = await create(OTHER, 'Hello {{ name }}', { name: { type: 'string' } });
    const send = (headers: object, template: object) =>
      app.inject({ method: 'POST', url: '/v1/emails', headers: { ...headers }, payload: { from, to, ...template } });
    const items = Array.from({ length: 2_000 }, (_, i) => i);
    let answer = await send(THIRD, { template: { id: slow, variables: { items } } });
    let renders = 0;
    while (answer.statusCode === 400 && renders < 100) {
      renders++;
      answer = await send(THIRD, { template: { id: slow, variables: { items } } });
    }
    t.equal(answer.statusCode, 429, `refused after ${renders} renders to the limit`);
    t.ok(renders >= 4, 'not before the burst (1 s) was spent');
    t.equal(answer.json().code, 'EMAIL_ERR_RENDER_TIME_SPENT');
    const wait = Number(answer.headers['retry-after']);
    // The last render's overdraft at 100 ms a second: 1-3 s on an idle host, more when the host is
    // loaded and the render ran past its limit before the next check. Waiting it out is checked below.
    t.ok(wait >= 1 && wait <= 10, `Retry-After: ${wait} s`);
    t.equal((await send(OTHER, { template: { id: fast, variables: { name: 'Ann' } } })).statusCode, 202, 'another key renders');
    t.equal((await send(THIRD, { subject: 'plain', text: 'no template' })).statusCode, 202, 'a plain send costs no render time');
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    t.equal(
      (await send(THIRD, { template: { id: slow, variables: { items: [1] } } })).statusCode,
      202,
      'after Retry-After, it renders again',
    );
  },
);
