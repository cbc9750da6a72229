// The worst requests a key holder can send (hostile-bench.mjs times them). A module of its own so
// that the client process (hostile-client.mjs) loads them without the API.
export const KEY = 'bench-key-0123456789abcdef0123';
const email = (over = {}) => ({ from: 'Shop <orders@example.com>', to: 'c@example.net', subject: 's', text: 't', ...over });
const longAddress = (i) => `"${'N'.repeat(150)}, ${i}" <${'l'.repeat(60)}${i}@${'d'.repeat(60)}.example.net>`;

/** A request's body as sent: most are objects, and a raw string is sent as it is (JSON.stringify would overflow on some). */
export const payloadOf = (body) => (typeof body === 'string' ? body : JSON.stringify(body));

/** Built when called: the API's process in the bench holds only their names and sizes, not 33 MB of bodies (below). */
export const hostileRequests = () => ({
  'to: 200,000 × "a@" (1 MB)': ['/v1/emails', email({ to: Array.from({ length: 200_000 }, () => 'a@') })],
  'batch: 100 valid emails × 50 long quoted recipients (1.5 MB)': [
    '/v1/emails/batch',
    { emails: Array.from({ length: 100 }, () => email({ to: Array.from({ length: 50 }, (_, i) => longAddress(i)) })) },
  ],
  'batch: 100 emails × 50 invalid recipients (5,000 errors, 20 reported)': [
    '/v1/emails/batch',
    { emails: Array.from({ length: 100 }, () => email({ to: Array.from({ length: 50 }, () => `${'x'.repeat(300)},( <a@example.net>`) })) },
  ],
  'headers: 50 × 998-byte values (over the 16 KiB cap), 20 tags, 10 attachments': [
    '/v1/emails',
    email({
      headers: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-H${i}`, 'v'.repeat(998)])),
      tags: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${i}`, 'v'.repeat(256)])),
      attachments: Array.from({ length: 10 }, (_, i) => ({ filename: `f${i}.bin`, content: Buffer.alloc(200_000).toString('base64') })),
    }),
  ],
  'text: one 4 MB body': ['/v1/emails', email({ text: 'x'.repeat(4 * 1024 * 1024 - 200) })],
  // With a key the body is also hashed, to tell a retry from another request under the same key.
  'text: one 4 MB body, with an Idempotency-Key': [
    '/v1/emails',
    email({ text: 'x'.repeat(4 * 1024 * 1024 - 250) }),
    { 'idempotency-key': 'hostile-4mb' },
  ],
  // Shapes JSON.parse itself is slow on (a raw string: JSON.stringify would overflow its stack on the second).
  'tags: one object of 200,000 keys (2.4 MB)': [
    '/v1/emails',
    email({ tags: Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 1])) }),
  ],
  'to: 500,000 nested arrays (1 MB)': [
    '/v1/emails',
    `{"from":"orders@example.com","to":${'['.repeat(500_000)}${']'.repeat(500_000)},"subject":"s","text":"t"}`,
  ],
  // V8's JSON.parse held the loop 724 ms for this body before the value bound (json-shape.ts).
  'to: 1,300,000 empty objects (4 MB)': [
    '/v1/emails',
    `{"from":"orders@example.com","to":[${'{},'.repeat(1_300_000)}{}],"subject":"s","text":"t"}`,
  ],
  'template variables: 50,000 empty objects (the most values a body may hold)': [
    '/v1/emails',
    { from: 'Shop <orders@example.com>', to: 'c@example.net', template: { id: 'tmpl_slow', variables: { items: Array(49_990).fill({}) } } },
  ],
  'template: a send whose template runs to its render limit (3 nested loops over 2,000 items)': [
    '/v1/emails',
    {
      from: 'Shop <orders@example.com>',
      to: 'c@example.net',
      template: { id: 'tmpl_slow', variables: { items: Array.from({ length: 2_000 }, (_, i) => i) } },
    },
  ],
});

/** The ledger's answer for the template the last request names (resolveTemplate's row). */
export const SLOW_TEMPLATE = {
  id: 'tmpl_slow',
  version: 1,
  subject: '{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x',
  html: null,
  text: '{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}{% endfor %}x',
  variables: { items: { type: 'array', required: true } },
  created_at: new Date(),
  published_at: new Date(),
};

const mime = (headers, body) =>
  `From: orders@example.com\r\nTo: c@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\n${headers}\r\n\r\n${body}`;
/** "你好" in GBK: two two-byte characters, no byte below 0x30 to cut a run at. */
const GBK_NIHAO = Buffer.from('c4e3bac3', 'hex');
const mimeBytes = (headers, body) => Buffer.concat([Buffer.from(mime(headers, '')), body]);
/** The worst messages a key holder can submit over SMTP (under SUBMISSION_MAX_BYTES, 5 MiB): what costs mailparser most. */
export const hostileSubmissions = () => ({
  'SMTP: text, quoted-printable soft line breaks (4.8 MB)': mime(
    'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable',
    '=41=\r\n'.repeat(800_000),
  ),
  'SMTP: text in iso-2022-jp (4.8 MB)': mime(
    'Content-Type: text/plain; charset=iso-2022-jp',
    '\x1b$B$3$s$K$A$O\x1b(B hello\r\n'.repeat(200_000),
  ),
  'SMTP: text, format=flowed (4.8 MB)': mime('Content-Type: text/plain; format=flowed', 'hello world this is flowed \r\n'.repeat(170_000)),
  'SMTP: HTML only (4.2 MB)': mime('Content-Type: text/html', '<p>hello <b>world</b> <a href="http://x">x</a></p>\r\n'.repeat(80_000)),
  'SMTP: quoted-printable, one line of "=" (4.8 MB)': mime(
    'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable',
    '='.repeat(4_800_000),
  ),
  'SMTP: text, 200,000 lines of ASCII (5.2 MB)': mime('Content-Type: text/plain', 'hello world, this is a l\r\n'.repeat(200_000)),
  'SMTP: text in GBK, 200,000 lines (3.2 MB)': mimeBytes(
    'Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit',
    Buffer.concat(Array(200_000).fill(Buffer.concat([GBK_NIHAO, GBK_NIHAO, Buffer.from(' hello\r\n')]))),
  ),
  'SMTP: GBK in base64, one run with no byte to cut at (4.9 MB)': mime(
    'Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: base64',
    Buffer.from(GBK_NIHAO.toString('latin1').repeat(900_000), 'latin1').toString('base64').replace(/.{76}/g, '$&\r\n'),
  ),
  'SMTP: 1.6 million empty lines (3.2 MB)': mime('Content-Type: text/plain', '\r\n'.repeat(1_600_000)),
  'SMTP: To of 1,250 quoted addresses (32 KB, the most address headers may hold)': `From: orders@example.com\r\nTo: ${'"Doe, J" <x@example.net>, '.repeat(1_250)}c@example.net\r\nSubject: s\r\n\r\nhi\r\n`,
  'SMTP: To of 3,800 quoted addresses (99 KB header)': `From: orders@example.com\r\nTo: ${'"Doe, J" <x@example.net>, '.repeat(3_800)}c@example.net\r\nSubject: s\r\n\r\nhi\r\n`,
  'SMTP: 50 parts, each with a To of 3,800 quoted addresses (4.9 MB)': mime(
    'Content-Type: multipart/mixed; boundary=b',
    `${`--b\r\nContent-Type: text/plain\r\nTo: ${'"Doe, J" <x@example.net>, '.repeat(3_800)}c@example.net\r\n\r\nx\r\n`.repeat(50)}--b--\r\n`,
  ),
  'SMTP: 999 parts of one line (41 KB)': mime(
    'Content-Type: multipart/mixed; boundary=b',
    `${'--b\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(999)}--b--\r\n`,
  ),
});
