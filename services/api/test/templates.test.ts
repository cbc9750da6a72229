import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { AUTH, buildApi } from '../../../test/helpers/api.js';
import { uniqueName } from '../../../test/helpers/env.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';

// Issue #14, templates at the API: stored and versioned, rendered before the produce, so the
// record on the topic is exactly what will be sent. (What the SMTP server receives is checked
// in test/e2e/scheduled.test.ts.)

const from = 'Shop <orders@example.com>';
const to = 'someone@example.net';

async function api(app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers = {}) {
  const res = await app.inject({
    method,
    url,
    headers: { ...AUTH, ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.body ? res.json() : null };
}

const receipt = (name: string) => ({
  name,
  subject: 'Order {{ order }} for {{ customer }}',
  html: '<p>Dear {{ customer }},</p>{% for item in items %}<li>{{ item }}</li>{% endfor %}',
  text: 'Dear {{ customer }}',
  variables: { customer: { type: 'string' }, order: { type: 'number' }, items: { type: 'array', required: false } },
});

// One API (and one set of topics) for the whole file.
const built = buildApi(t);

t.test('templates: create, version, publish, render, send, pin, idempotency', async (t) => {
  const { app, config } = await built;
  const name = uniqueName('receipt');

  const draft = await api(app, 'POST', '/v1/templates', receipt(name));
  t.equal(draft.status, 201);
  t.match(draft.body, { name, latestVersion: 1, publishedVersion: null, draft: { version: 1, publishedAt: null } });
  const id = draft.body.id as string;
  t.equal((await api(app, 'POST', '/v1/templates', receipt(name))).status, 409, 'a name is unique per account');

  const send = (template: Record<string, unknown>, extra: Record<string, unknown> = {}, headers = {}) =>
    api(app, 'POST', '/v1/emails', { from, to, template, ...extra }, headers);
  const unpublished = await send({ id, variables: { customer: 'Ann', order: 1 } });
  t.equal(unpublished.status, 400, 'a draft is never sent');
  t.equal(unpublished.body.errors[0].path, '/template/id');

  t.equal((await api(app, 'POST', `/v1/templates/${id}/publish`)).body.publishedVersion, 1);
  t.equal((await api(app, 'POST', `/v1/templates/${id}/publish`)).status, 409, 'nothing left to publish');

  // Preview: escaping in html, not in subject or text.
  const preview = await api(app, 'POST', `/v1/templates/${id}/render`, {
    variables: { customer: '<b>Ann</b>', order: 7, items: ['<i>x</i>'] },
  });
  t.equal(preview.status, 200);
  t.equal(preview.body.subject, 'Order 7 for <b>Ann</b>');
  t.equal(preview.body.html, '<p>Dear &lt;b&gt;Ann&lt;/b&gt;,</p><li>&lt;i&gt;x&lt;/i&gt;</li>');
  t.equal(preview.body.text, 'Dear <b>Ann</b>');

  // Variables: missing, ill-typed, undeclared: a 400 naming each.
  const bad = await send({ name, variables: { order: '7', extra: 1 } });
  t.equal(bad.status, 400);
  const problems = Object.fromEntries(bad.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]));
  t.same(problems, {
    '/template/variables/customer': 'is required (a string)',
    '/template/variables/order': 'must be a number',
    '/template/variables/extra': 'is not a variable of this template',
  });
  const batch = await api(app, 'POST', '/v1/emails/batch', {
    emails: [
      { from, to, template: { id, variables: { customer: 'A', order: 1 } } },
      { from, to, template: { id, variables: { order: 2 } } },
    ],
  });
  t.equal(batch.status, 400, 'one bad item rejects the batch');
  t.equal(batch.body.errors[0].path, '/emails/1/template/variables/customer');
  const both = await send({ id, variables: {} }, { subject: 'x' });
  t.equal(both.status, 400, 'subject next to a template is refused');
  t.equal((await send({ name: 'no-such-template', variables: {} })).status, 400);

  // Edit: a new draft (v2); v1 stays what sends use until v2 is published, and stays addressable.
  const edited = await api(app, 'PATCH', `/v1/templates/${id}`, { text: 'Hello {{ customer }}' });
  t.match(edited.body, { latestVersion: 2, publishedVersion: 1, draft: { version: 2, text: 'Hello {{ customer }}' } });
  t.equal(
    (await api(app, 'PATCH', `/v1/templates/${id}`, { subject: 'Order {{ order }}' })).body.latestVersion,
    2,
    'the draft is edited in place',
  );
  t.equal((await api(app, 'POST', `/v1/templates/${id}/publish`)).body.publishedVersion, 2);

  const vars = { customer: 'Ann', order: 42 };
  const latest = await send({ id, variables: vars });
  const pinned = await send({ name, version: 1, variables: vars });
  t.equal(latest.status, 202);
  t.equal(pinned.status, 202);
  t.equal((await send({ id, version: 9, variables: vars })).status, 400, 'an unknown version is a 400');

  // Idempotency: the same key with the same template and variables is the same request.
  const key = { 'idempotency-key': uniqueName('tmpl-key') };
  const first = await send({ id, variables: vars }, {}, key);
  t.equal((await send({ id, variables: vars }, {}, key)).body.id, first.body.id, 'same key, same template and variables: same email');
  t.equal((await send({ id, variables: { ...vars, order: 43 } }, {}, key)).status, 409, 'other variables: a conflict');

  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 3);
  t.equal(records.length, 3, 'one record per accepted email, none for the refused ones or the replay');
  const envelope = (emailId: string) => JSON.parse(records.find((r) => r.key === emailId)?.value ?? '{}');
  t.match(envelope(latest.body.id), { template: { id, version: 2 }, email: { subject: 'Order 42', text: 'Hello Ann' } });
  t.match(envelope(pinned.body.id), {
    template: { id, version: 1 },
    email: { subject: 'Order 42 for Ann', text: 'Dear Ann', html: '<p>Dear Ann,</p>' },
  });
  t.notOk('variables' in envelope(latest.body.id).email, 'the record holds the rendered email, not the variables');

  const v1 = await api(app, 'GET', `/v1/templates/${id}/versions/1`);
  t.match(v1.body, { version: 1, text: 'Dear {{ customer }}' });
  t.equal((await api(app, 'GET', `/v1/templates/${name}`)).body.id, id, 'a template can be addressed by its name');
  t.ok((await api(app, 'GET', '/v1/templates')).body.data.some((x: { id: string }) => x.id === id));
  t.equal((await api(app, 'DELETE', `/v1/templates/${id}`)).status, 204);
  t.equal((await api(app, 'GET', `/v1/templates/${id}`)).status, 404);
  t.equal((await send({ id, variables: vars })).status, 400, 'a deleted template is not sent');
  t.equal(config.limits.maxScheduleDays, 30);
});

t.test('a template that would read files, or uses a variable it does not declare, is refused when it is saved', async (t) => {
  const { app } = await built;
  const create = (body: Record<string, unknown>) => api(app, 'POST', '/v1/templates', { ...receipt(uniqueName('t')), ...body });
  const include = await create({ html: "{% include 'secrets' %}" });
  t.equal(include.status, 400);
  t.equal(include.body.errors[0].path, '/html');
  t.match(include.body.errors[0].message, /cannot read other files/);
  const undeclared = await create({ text: 'Hi {{ custmer }}' });
  t.equal(undeclared.status, 400);
  t.same(undeclared.body.errors[0], { path: '/text', message: 'uses custmer, which is not declared in variables' });
  t.equal((await create({ html: '{{ unclosed' })).status, 400, 'a part that does not parse');
  t.equal((await create({ name: 'tmpl_lookalike' })).status, 400, 'a name that looks like an id');
  // Rendering is bounded: a loop that would run for long stops at the render limit (a 400).
  const slow = await create({
    html: '{% for a in items %}{% for b in items %}{% for c in items %}{{ a }}{% endfor %}{% endfor %}{% endfor %}',
    publish: true,
  });
  t.equal(slow.status, 201);
  const res = await api(app, 'POST', '/v1/emails', {
    from,
    to,
    template: { id: slow.body.id, variables: { customer: 'A', order: 1, items: Array.from({ length: 2000 }, (_, i) => i) } },
  });
  t.equal(res.status, 400);
  // The loop's 8·10⁹ iterations are cut by the render limit: the 400 says so.
  t.match(res.body.errors[0].message, /could not be rendered: .*limit/i);
});

t.test('what a template writes is bounded, captures included: a 400, and the API carries on', async (t) => {
  const { app } = await built;
  // Eight captures double a 1 MB variable to 256 MB (a rope, nearly free) and `contains` reads it
  // flat: before the charge, this send took the API's 128 MB heap down.
  const double = '{% capture s %}{{ s }}{{ s }}{% endcapture %}';
  const created = await api(app, 'POST', '/v1/templates', {
    name: uniqueName('doubling'),
    subject: 'Hi',
    text: `{% capture s %}{{ big }}{% endcapture %}${double.repeat(8)}{% if s contains "b" %}b{% endif %}done`,
    variables: { big: { type: 'string' } },
    publish: true,
  });
  t.equal(created.status, 201);
  const variables = { big: 'a'.repeat(1_000_000) };
  const send = await api(app, 'POST', '/v1/emails', { from, to, template: { id: created.body.id, variables } });
  t.equal(send.status, 400);
  t.match(send.body.errors[0], { path: '/template', message: /could not be rendered: template output limit exceeded/ });
  const preview = await api(app, 'POST', `/v1/templates/${created.body.id}/render`, { variables });
  t.equal(preview.status, 400, 'the preview is bounded the same way');
  t.equal((await api(app, 'POST', '/v1/emails', { from, to, subject: 'after', text: 'still here' })).status, 202);
});

t.test('what one request renders is held to BODY_LIMIT_BYTES, and holds room in the body budget while it is sent', async (t) => {
  const { app, config } = await built;
  const budget = app.bodyBudget;
  // A 2 MiB email from a 12 KB request: two parts, each a 500 KiB literal written twice.
  const twice = `{% for i in (1..2) %}${'x'.repeat(500 * 1024)}{% endfor %}`;
  const created = await api(app, 'POST', '/v1/templates', {
    name: uniqueName('large'),
    subject: 'Hi',
    html: twice,
    text: twice,
    variables: {},
    publish: true,
  });
  t.equal(created.status, 201);
  const template = { id: created.body.id, variables: {} };
  const batch = await api(app, 'POST', '/v1/emails/batch', { emails: Array.from({ length: 100 }, () => ({ from, to, template })) });
  t.equal(batch.status, 400, 'a hundred would render 200 MiB');
  t.same(batch.body.errors, [{ path: '/emails/2/template', message: `the request renders to more than ${config.BODY_LIMIT_BYTES} bytes` }]);
  t.equal(budget.inUse, 0, 'a refused request gives its room back');

  // All the room but 1 MiB is held by two other accounts: the send (room for 3 MiB, the most one
  // email renders) waits, and a plain email's small body does not.
  const others = await budget.acquire(budget.share, 0, 'another account');
  const third = await budget.acquire(budget.capacity - budget.share - 1024 * 1024, 0, 'a third account');
  t.teardown(() => others?.());
  let settled = false;
  const templated = api(app, 'POST', '/v1/emails', { from, to, template }).then((r) => {
    settled = true;
    return r;
  });
  t.equal((await api(app, 'POST', '/v1/emails', { from, to, subject: 'plain', text: 'fits' })).status, 202);
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.notOk(settled, 'the template send waits for room to render in');
  third?.();
  t.equal((await templated).status, 202, 'and is accepted once there is');
  t.equal(budget.inUse, budget.share, 'then gives its room back: only the other account holds any');

  const preview = await api(app, 'POST', `/v1/templates/${created.body.id}/render`, { variables: {} });
  t.equal(preview.status, 200);
  t.equal(preview.body.html.length, 2 * 500 * 1024);
  t.equal(budget.inUse, budget.share, 'a preview gives its room back once answered');
});

t.test('scheduledAt: a malformed or too distant time is a 400; the status is scheduled, with the due time', async (t) => {
  const { app } = await built;
  const post = (scheduledAt: unknown) => api(app, 'POST', '/v1/emails', { from, to, subject: 's', text: 'x', scheduledAt });
  for (const bad of ['tomorrow', '2026-12-01T09:00:00', new Date(Date.now() + 31 * 86_400_000).toISOString(), 1_700_000_000]) {
    const res = await post(bad);
    t.equal(res.status, 400, `${bad}`);
    t.equal(res.body.errors[0].path, '/scheduledAt');
  }
  const at = new Date(Date.now() + 3_600_000);
  const offset = `${at.toISOString().slice(0, 19)}+00:00`;
  const ok = await post(offset);
  t.equal(ok.status, 202);
  t.equal(ok.body.status, 'scheduled');
  t.equal(ok.body.scheduledAt, `${at.toISOString().slice(0, 19)}.000Z`, 'normalised to UTC');
  const status = await api(app, 'GET', `/v1/emails/${ok.body.id}`);
  t.match(status.body, { status: 'scheduled', scheduledAt: ok.body.scheduledAt });
  const past = await post(new Date(Date.now() - 60_000).toISOString());
  t.equal(past.body.status, 'queued', 'a time in the past means now');
  t.equal((await api(app, 'POST', `/v1/emails/${ok.body.id}/cancel`)).body.status, 'canceled');
  t.equal((await api(app, 'POST', `/v1/emails/${ok.body.id}/cancel`)).status, 409, 'canceled is final');
  t.equal((await api(app, 'POST', '/v1/emails/00000000-0000-0000-0000-000000000000/cancel')).status, 404);
});
