// test-plan: standalone
import { execFileSync } from 'node:child_process';
import { envelopeSchema } from '@postline/contracts';
import t from 'tap';
import { AUTH, email } from '../../../../test/helpers/api.js';
import { buildMemoryApi } from '../../../../test/helpers/memory-api.js';
import { holdsLoneSurrogate, MAX_WALKED } from '../../src/unicode-text.js';

/** JSON as Python's json.dumps writes it by default (ensure_ascii): every non-ASCII code unit escaped. */
const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

t.test('holdsLoneSurrogate reads escapes as JSON.parse does', async (t) => {
  for (const [text, lone] of [
    ['"\\ud800"', true],
    ['"\\uDC00"', true],
    ['"\\ud83d\\ude00"', false],
    ['"\\uD83D\\uDE00 and \\u00e9\\u4e2d"', false],
    ['"\\ude00\\ud83d"', true],
    ['"\\ud83d\\ud83d\\ude00"', true],
    ['"\\ud83d😀"', true],
    ['["\\ud83d","\\ude00"]', true],
    ['"\\\\ud800"', false],
    ['"\\\\\\ud800"', true],
    ['"😀 written as is"', false],
    ['{"\\udfff": 1}', true],
  ] as const) {
    t.equal(holdsLoneSurrogate(text), lone, text);
  }
});

t.test('holdsLoneSurrogate agrees with isWellFormed on 3,000 random strings, escaped both ways', async (t) => {
  // Code units that make and break pairs and escapes: a backslash, a quote, "u", "d", hex digits.
  const units = ['a', '\\', '"', 'u', 'd', '8', 'e', '\u00e9', '\ud83d', '\ude00', '\ud800', '\udfff'];
  let seed = 17;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let wrong = 0;
  let lone = 0;
  for (let i = 0; i < 3000; i++) {
    const s = Array.from({ length: 1 + Math.floor(random() * 12) }, () => units[Math.floor(random() * units.length)]).join('');
    if (!s.isWellFormed()) lone++;
    for (const text of [JSON.stringify({ s }), asciiJson({ s }), JSON.stringify({ [s]: s.length })]) {
      if (holdsLoneSurrogate(text) !== !s.isWellFormed()) wrong++;
    }
  }
  t.equal(wrong, 0, 'no text read otherwise');
  t.ok(lone > 500 && lone < 2500, `both kinds drawn (${lone} lone)`);
});

t.test('a lone surrogate anywhere in a body is a 400 naming where, on every route, and nothing is produced', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { ...AUTH, 'content-type': 'application/json' } });

  const subject = await post('/v1/emails', JSON.stringify(email({ subject: 'Hi \ud800 there' })));
  t.equal(subject.statusCode, 400);
  t.equal(subject.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(subject.json(), { code: 'EMAIL_ERR_VALIDATION', errors: [{ path: '/subject', message: /lone surrogate/ }] });

  const batch = await post(
    '/v1/emails/batch',
    JSON.stringify({ emails: [email(), email({ to: ['a@example.net', 'B\udc00 <b@example.net>'] })] }),
  );
  t.equal(batch.statusCode, 400);
  t.match(batch.json(), { errors: [{ path: '/emails/1/to/1' }] });

  const key = await post('/v1/emails', JSON.stringify(email({ tags: { 'a/b\ud800': 'x' } })));
  t.match(key.json(), { errors: [{ path: '/tags/a~1b\ud800', message: /^the key is not Unicode text/ }] });

  const many = await post(
    '/v1/emails',
    JSON.stringify(email({ tags: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`t${i}`, '\ud800'])) })),
  );
  t.equal(many.statusCode, 400);
  t.match(many.json(), { detail: 'more than 20 invalid fields; the first 20 are listed' });
  t.equal(many.json().errors.length, 20);

  // Past the walk's bound the body is refused all the same, without a pointer.
  const far = await post(
    '/v1/emails',
    JSON.stringify(email({ to: [...Array.from({ length: MAX_WALKED }, () => 'a@example.net'), '\udc00'] })),
  );
  t.equal(far.statusCode, 400, 'a lone surrogate past the values the walk reads');
  t.match(far.json(), {
    errors: [{ path: '/', message: /lone surrogate .*beyond its first 20000 values/ }],
    detail: /the rest was not read/,
  });
  const near = await post(
    '/v1/emails',
    JSON.stringify(email({ to: [...Array.from({ length: MAX_WALKED - 100 }, () => 'a@example.net'), '\udc00'] })),
  );
  t.match(near.json(), { errors: [{ path: `/to/${MAX_WALKED - 100}` }] }, 'and within them, located');

  const template = await post('/v1/templates', JSON.stringify({ name: 'x', subject: 's', html: '<p>\udfff</p>' }));
  t.match(template.json(), { code: 'EMAIL_ERR_VALIDATION', errors: [{ path: '/html' }] }, 'a template');

  const resend = await post(
    '/resend/emails',
    JSON.stringify({ from: 'sender@example.com', to: 'a@example.net', subject: '\ud83d', text: 't' }),
  );
  t.equal(resend.statusCode, 422, 'on /resend, as Resend answers a validation error');
  t.match(resend.json(), { name: 'validation_error', message: /^Invalid `subject`: is not Unicode text/ });

  t.equal(produced.length, 0, 'nothing was produced');
});

t.test('escaped pairs, as Python writes them, are accepted and carried as the characters they spell', async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const body = asciiJson(email({ subject: 'Caf\u00e9 \ud83d\ude00', text: '\u4e2d\u6587 \ud83c\udf89' }));
  t.match(body, /\\ud83d\\ude00/, 'the pair is escaped in the body');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/emails',
    payload: body,
    headers: { ...AUTH, 'content-type': 'application/json' },
  });
  t.equal(res.statusCode, 202, res.body);
  const envelope = envelopeSchema.parse(JSON.parse(String(produced[0]?.value)));
  t.equal(envelope.email.subject, 'Café 😀');
  t.equal(envelope.email.text, '中文 🎉');
});

t.test("bodies written by Python's json.dumps: its escaped pair is accepted, its lone surrogate refused", async (t) => {
  const { app, produced } = await buildMemoryApi(t);
  const dumps = (subject: string) =>
    execFileSync(
      'python3',
      ['-c', `import json; print(json.dumps({"from": "sender@example.com", "to": "a@example.net", "subject": ${subject}, "text": "t"}))`],
      {
        encoding: 'utf8',
      },
    );
  const post = (payload: string) =>
    app.inject({ method: 'POST', url: '/v1/emails', payload, headers: { ...AUTH, 'content-type': 'application/json' } });
  const pair = dumps(String.raw`"Caf\u00e9 \U0001F600"`);
  t.match(pair, /\\ud83d\\ude00/, 'Python escaped the emoji as a pair');
  t.equal((await post(pair)).statusCode, 202);
  t.equal(envelopeSchema.parse(JSON.parse(String(produced[0]?.value))).email.subject, 'Café 😀');
  const lone = await post(dumps(String.raw`"half \ud83d"`));
  t.equal(lone.statusCode, 400);
  t.match(lone.json(), { errors: [{ path: '/subject' }] });
  t.equal(produced.length, 1);
});
