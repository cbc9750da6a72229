import t from 'tap';
import { emailRequestSchema, parseAddress } from '../src/index.js';

t.test('addresses', async (t) => {
  t.same(parseAddress('a.b+c@mail.example.com'), { address: 'a.b+c@mail.example.com' });
  t.same(parseAddress('Jane Doe <jane@example.com>'), { name: 'Jane Doe', address: 'jane@example.com' });
  t.same(parseAddress('"Doe, Jane" <jane@example.com>'), { name: 'Doe, Jane', address: 'jane@example.com' });
  for (const bad of [
    'jane',
    'jane@',
    '@example.com',
    'a@b@c.com',
    'jane@example.com\r\n',
    'J <a@b.com> <c@d.com>',
    'a <b@c.com',
    '<>',
    'a@-bad.com',
  ]) {
    t.equal(parseAddress(bad), null, JSON.stringify(bad));
  }
});

t.test('the request schema rejects unknown keys and enforces limits', async (t) => {
  const schema = emailRequestSchema({ maxRecipients: 2, maxSubjectLength: 10, maxAttachments: 1 });
  const ok = { from: 'a@example.com', to: 'b@example.com', subject: 'hi', text: 't' };
  t.ok(schema.safeParse(ok).success);
  t.notOk(schema.safeParse({ ...ok, x: 1 }).success);
  t.notOk(schema.safeParse({ ...ok, to: ['b@example.com', 'c@example.com'], cc: 'd@example.com' }).success, '3 recipients > 2');
  t.notOk(schema.safeParse({ ...ok, subject: 'x'.repeat(11) }).success);
  t.ok(
    schema.safeParse({ ...ok, headers: { 'X-Custom-Id': '42', 'List-Unsubscribe': '<mailto:u@example.com>' } }).success,
    'custom headers allowed',
  );
});
