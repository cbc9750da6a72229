// test-plan: standalone
import fc from 'fast-check';
import addressparser from 'nodemailer/lib/addressparser';
import t from 'tap';
import { DEFAULT_LIMITS, emailRequestSchema, parseMailbox } from '../src/index.js';
import { HOSTILE_ADDRESSES } from './hostile-addresses.js';

/** RFC 5322 readers disagree with regexes exactly here: our reading must equal nodemailer's, or be a refusal. */
function agreesWithAddressparser(input: string): boolean {
  const ours = parseMailbox(input);
  if (!ours.ok) return true;
  const theirs = addressparser(input) as { address?: string; name?: string; group?: unknown }[];
  return (
    theirs.length === 1 &&
    theirs[0]?.group === undefined &&
    theirs[0]?.address === ours.mailbox.address &&
    theirs[0]?.name === (ours.mailbox.name ?? '')
  );
}

t.test('good mailboxes parse into { name, address }', async (t) => {
  const good: [string, { name?: string; address: string }][] = [
    ['a.b+c@mail.example.com', { address: 'a.b+c@mail.example.com' }],
    ['Jane Doe <jane@example.com>', { name: 'Jane Doe', address: 'jane@example.com' }],
    ['"Doe, Jane" <jane@example.com>', { name: 'Doe, Jane', address: 'jane@example.com' }],
    ['"Jane \\"JD\\" Doe" <jane@example.com>', { name: 'Jane "JD" Doe', address: 'jane@example.com' }],
    ['Jane Q. Doe <jane@example.com>', { name: 'Jane Q. Doe', address: 'jane@example.com' }],
    ['José Müller <jose@example.com>', { name: 'José Müller', address: 'jose@example.com' }],
    ['<jane@example.com>', { address: 'jane@example.com' }],
    ['  Jane  <jane@xn--bcher-kva.example>  ', { name: 'Jane', address: 'jane@xn--bcher-kva.example' }],
    ['"" <jane@example.com>', { address: 'jane@example.com' }],
  ];
  for (const [input, expected] of good) {
    t.same(parseMailbox(input), { ok: true, mailbox: expected }, input);
    t.ok(agreesWithAddressparser(input), `nodemailer reads ${input} the same way`);
  }
});

t.test('hostile forms are refused, each with a reason', async (t) => {
  for (const input of HOSTILE_ADDRESSES) {
    const result = parseMailbox(input);
    t.equal(result.ok, false, JSON.stringify(input));
    if (!result.ok) t.match(result.reason, /\w+/);
  }
});

t.test('property: whatever we accept, nodemailer reads as exactly that one mailbox', async (t) => {
  // Strings over the characters RFC 5322 gives meaning to, and a few plain ones.
  const alphabet = fc.constantFrom(...'ab.@,;:()<>[]"\\ -_é'.split(''), 'x@example.com', ' <', '>', '"');
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 24 }), (parts) => {
      const input = parts.join('');
      if (parseMailbox(input).ok) accepted++;
      return agreesWithAddressparser(input);
    }),
    { numRuns: 20_000 },
  );
  // Built to be mostly well-formed, then mutated with one special at a random place.
  const word = fc.stringMatching(/^[A-Za-z0-9.'é-]{1,8}$/);
  const special = fc.constantFrom(...',;:()<>[]"\\@ '.split(''));
  const mailbox = fc
    .record({
      name: fc.array(word, { maxLength: 3 }).map((w) => w.join(' ')),
      quoted: fc.boolean(),
      local: fc.stringMatching(/^[a-z0-9]{1,6}(?:[.+][a-z0-9]{1,4})?$/),
      domain: fc.constantFrom('example.com', 'mail.example.org', 'evil.test'),
      mutate: fc.option(fc.tuple(fc.nat(), special)),
    })
    .map(({ name, quoted, local, domain, mutate }) => {
      const display = name === '' ? '' : quoted ? `"${name}" ` : `${name} `;
      const s = `${display}<${local}@${domain}>`;
      if (!mutate) return s;
      const at = mutate[0] % (s.length + 1);
      return s.slice(0, at) + mutate[1] + s.slice(at);
    });
  let structuredAccepted = 0;
  fc.assert(
    fc.property(mailbox, (input) => {
      if (parseMailbox(input).ok) structuredAccepted++;
      return agreesWithAddressparser(input);
    }),
    { numRuns: 20_000 },
  );
  t.ok(accepted > 50, `${accepted} random inputs were accepted and agreed`);
  t.ok(structuredAccepted > 4_000, `${structuredAccepted} structured inputs were accepted and agreed`);
});

t.test('the request schema parses addresses once and counts parsed recipients', async (t) => {
  const schema = emailRequestSchema({
    ...DEFAULT_LIMITS,
    maxRecipients: 2,
    maxSubjectLength: 10,
    maxAttachments: 1,
    maxAttachmentBytes: 10,
  });
  const ok = { from: 'A <a@example.com>', to: 'b@example.com', subject: 'hi', text: 't' };
  t.same(schema.parse(ok).from, { name: 'A', address: 'a@example.com' });
  t.same(schema.parse(ok).to, [{ address: 'b@example.com' }], 'one string becomes a list of one');
  t.notOk(schema.safeParse({ ...ok, x: 1 }).success);
  t.notOk(schema.safeParse({ ...ok, to: ['b@example.com', 'c@example.com'], cc: 'd@example.com' }).success, '3 recipients > 2');
  t.notOk(schema.safeParse({ ...ok, to: '"x, y" <b@example.com>, c@example.com' }).success, 'a comma outside quotes is not a list');
  t.notOk(schema.safeParse({ ...ok, subject: 'x'.repeat(11) }).success);
  t.notOk(
    schema.safeParse({ ...ok, attachments: [{ filename: 'a', content: Buffer.alloc(11).toString('base64') }] }).success,
    'over the byte cap',
  );
  t.ok(schema.safeParse({ ...ok, headers: { 'X-Custom-Id': '42', 'List-Unsubscribe': '<mailto:u@example.com>' } }).success);
  for (const name of [
    'Authentication-Results',
    'ARC-Seal',
    'Received-SPF',
    'Delivered-To',
    'Resent-From',
    'DKIM-Signature',
    'X-Received',
    'Sender',
  ]) {
    t.notOk(schema.safeParse({ ...ok, headers: { [name]: 'x' } }).success, `${name} refused`);
  }
});
