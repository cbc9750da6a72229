// test-plan: standalone
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import t from 'tap';
import { AUTH, email } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_OBJECT_KEYS, shapedJsonParser } from '../../src/json-shape.js';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const keys = (n: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1])));

t.test("jsonShapeProblem counts nesting and each object's keys, outside strings only", async (t) => {
  t.equal(jsonShapeProblem(nested(MAX_JSON_DEPTH)), null, `${MAX_JSON_DEPTH} levels`);
  t.match(jsonShapeProblem(nested(MAX_JSON_DEPTH + 1)), /nests deeper than 64 levels/);
  t.match(jsonShapeProblem(`{"a":{"b":${nested(MAX_JSON_DEPTH - 1)}}}`), /nests deeper/, 'objects and arrays alike');
  t.equal(jsonShapeProblem(keys(MAX_OBJECT_KEYS)), null, `${MAX_OBJECT_KEYS} keys`);
  t.match(jsonShapeProblem(keys(MAX_OBJECT_KEYS + 1)), /more than 10000 keys/);
  // The keys are counted per object: many small objects are fine.
  const many = JSON.stringify(Array.from({ length: 3 }, () => JSON.parse(keys(MAX_OBJECT_KEYS))));
  t.equal(jsonShapeProblem(many), null, 'three objects of 10,000 keys each');
  // Brackets, braces, colons and escaped quotes inside strings are text.
  const text = JSON.stringify({ s: `${'['.repeat(100)}${'{"a":'.repeat(20_000)}\\"\\\\`, t: '\\' });
  t.equal(jsonShapeProblem(text), null, 'inside strings: not counted');
  t.match(jsonShapeProblem(`{"s":"\\\\",${keys(MAX_OBJECT_KEYS + 1).slice(1)}`), /more than/, 'an escaped backslash ends before the quote');
  t.equal(jsonShapeProblem('{"a": "unterminated'), null, 'malformed JSON is left to JSON.parse');
});

/** Array elements and object members, as the bound counts them. */
const valuesIn = (v: unknown): number =>
  Array.isArray(v)
    ? v.length + v.reduce((n: number, x) => n + valuesIn(x), 0)
    : v !== null && typeof v === 'object'
      ? Object.keys(v).length + Object.values(v).reduce((n: number, x) => n + valuesIn(x), 0)
      : 0;

t.test('jsonShapeProblem counts every array element and object member of the body, outside strings', async (t) => {
  const list = (n: number, item: string) => `[${Array(n).fill(item).join(',')}]`;
  t.equal(jsonShapeProblem(list(MAX_JSON_VALUES, '1')), null, `${MAX_JSON_VALUES} numbers`);
  t.match(jsonShapeProblem(list(MAX_JSON_VALUES + 1, '1')), /more than 50000 values/);
  // An empty container holds nothing, blanks or not; each one is a value of its parent.
  t.equal(jsonShapeProblem(list(MAX_JSON_VALUES, '[ ]')), null, `${MAX_JSON_VALUES} empty lists`);
  t.match(jsonShapeProblem(list(MAX_JSON_VALUES + 1, '{\n}')), /more than/, 'empty objects');
  t.equal(jsonShapeProblem(list(MAX_JSON_VALUES / 2, '[ 1 ]')), null, 'a list of one: two values');
  t.match(jsonShapeProblem(list(MAX_JSON_VALUES / 2 + 1, '[ 1 ]')), /more than/, 'one more list of one');
  t.equal(jsonShapeProblem(JSON.stringify({ s: ','.repeat(200_000), t: '[1,2]'.repeat(20_000) })), null, 'commas in strings are text');
  // Mixed shapes, compact and pretty: the bound reads the count a walk of the parsed value gives.
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const shape = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.3) return r < 0.1 ? 'a,b' : r < 0.2 ? 1 : null;
    const n = Math.floor(random() * 40);
    return r < 0.65
      ? Array.from({ length: n }, () => shape(depth + 1))
      : Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, shape(depth + 1)]));
  };
  for (let i = 0; i < 30; i++) {
    const value = shape(0);
    const count = valuesIn(value);
    // A list of copies and one remainder, so the count lands just under, at and over the bound.
    for (const extra of [-1, 0, 1]) {
      const copies = Math.max(1, Math.floor((MAX_JSON_VALUES - 1) / Math.max(1, count + 1)));
      const fill = MAX_JSON_VALUES + extra - copies * (count + 1) - 1;
      if (fill < 0) continue;
      const body = [...Array(copies).fill(value), Array(fill).fill(0)];
      t.equal(valuesIn(body), MAX_JSON_VALUES + extra);
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
        if ((jsonShapeProblem(text) === null) !== extra <= 0) t.fail(`${MAX_JSON_VALUES + extra} values read otherwise`);
      }
    }
  }
});

t.test('a body too complex is a 400 EMAIL_ERR_JSON_TOO_COMPLEX, on /v1 and /resend, before it is parsed', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { ...AUTH, 'content-type': 'application/json' } });
  const deep = `{"from":"a@example.com","to":${nested(500_000)},"subject":"s","text":"t"}`;
  const wide = JSON.stringify({ ...email(), tags: JSON.parse(keys(200_000)) });
  const values = JSON.stringify(email({ template: { id: 'tmpl_x', variables: { items: Array(MAX_JSON_VALUES).fill({}) } } }));
  for (const [what, url, body] of [
    ['500,000 nested arrays', '/v1/emails', deep],
    [`template variables of ${MAX_JSON_VALUES} empty objects`, '/v1/emails', values],
    ['an object of 200,000 keys', '/v1/emails', wide],
    ['a batch', '/v1/emails/batch', JSON.stringify({ emails: [JSON.parse(wide)] })],
  ] as const) {
    const r = await post(url, body);
    t.equal(r.statusCode, 400, what);
    t.match(r.json(), { code: 'EMAIL_ERR_JSON_TOO_COMPLEX', detail: /The body was not parsed: / }, what);
  }
  const resend = await post('/resend/emails', deep);
  t.equal(resend.statusCode, 400, 'on /resend');
  t.match(resend.json(), { name: 'validation_error' });
  // Strings that look like structure are text, and a legitimate email goes through.
  const ok = await post('/v1/emails', JSON.stringify(email({ subject: `${'['.repeat(200)}{"a":1}`, text: '{'.repeat(100_000) })));
  t.equal(ok.statusCode, 202, ok.body);
  t.equal(produced.length, 1, 'only the legitimate email was produced');
  t.equal(
    (await app.inject({ method: 'POST', url: '/resend/emails/x/cancel', headers: { ...AUTH, 'content-type': 'application/json' } }))
      .statusCode < 500,
    true,
    'an empty body on /resend is still no body',
  );
});

t.test('a body of 256 Ki characters or more is answered as a shorter one with the same defect is', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const post = async (payload: string) => {
    const r = await app.inject({ method: 'POST', url: '/v1/emails', payload, headers: { ...AUTH, 'content-type': 'application/json' } });
    return { status: r.statusCode, code: r.statusCode === 202 ? undefined : r.json().code };
  };
  const cases: [string, (json: string) => string][] = [
    ['valid', (json) => json],
    ['malformed', (json) => `${json.slice(0, -1)},`],
    ['a __proto__ key', (json) => json.replace('{', '{"__proto__":{"x":1},')],
    ['a lone surrogate', (json) => json.replace('"text":"', '"text":"\\ud800')],
  ];
  for (const [what, spoil] of cases) {
    const short = await post(spoil(JSON.stringify(email({ text: 'x' }))));
    const large = await post(spoil(JSON.stringify(email({ text: 'x'.repeat(256 * 1024) }))));
    t.same(large, short, what);
    t.equal(large.status, what === 'valid' ? 202 : 400, what);
  }
  t.equal(produced.length, 2, 'only the valid ones were produced');
});

t.test("a large body's JSON.parse runs after work queued when its last byte was read; a shorter one's before it", async (t) => {
  const app = Fastify();
  shapedJsonParser(app);
  const order: string[] = [];
  // Told when the body's stream ends, before fastify's parser is (its listener comes first).
  app.addHook('preParsing', async (_request, _reply, payload) => {
    const pass = new PassThrough();
    pass.on('end', () => setImmediate(() => order.push('other work')));
    return payload.pipe(pass);
  });
  app.post('/', async (request) => {
    order.push('parsed');
    return { chars: (request.body as { text: string }).text.length };
  });
  t.teardown(() => app.close());
  for (const [what, chars, expected] of [
    ['256 Ki characters', 256 * 1024, ['other work', 'parsed']],
    ['one character short of it', 256 * 1024 - 1, ['parsed', 'other work']],
  ] as const) {
    order.length = 0;
    const payload = `{"text":"${'x'.repeat(chars - 11)}"}`;
    t.equal(payload.length, chars);
    const r = await app.inject({ method: 'POST', url: '/', payload, headers: { 'content-type': 'application/json' } });
    t.equal(r.json().chars, chars - 11, what);
    await new Promise((resolve) => setImmediate(resolve));
    t.same(order, expected, what);
  }
});
