// test-plan: standalone
import t from 'tap';
import { AUTH, email } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { jsonShapeProblem, MAX_JSON_DEPTH, MAX_OBJECT_KEYS } from '../../src/json-shape.js';

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

t.test('a body too complex is a 400 EMAIL_ERR_JSON_TOO_COMPLEX, on /v1 and /resend, before it is parsed', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { ...AUTH, 'content-type': 'application/json' } });
  const deep = `{"from":"a@example.com","to":${nested(500_000)},"subject":"s","text":"t"}`;
  const wide = JSON.stringify({ ...email(), tags: JSON.parse(keys(200_000)) });
  for (const [what, url, body] of [
    ['500,000 nested arrays', '/v1/emails', deep],
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
