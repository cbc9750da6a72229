// test-plan: standalone
import MimeNode from 'nodemailer/lib/mime-node';
import t from 'tap';
import { smtpEnvelope } from '../src/smtp-envelope.js';

/** What nodemailer's Mailer makes of an envelope: the reference the fast path must equal. */
const reference = (from: string, to: string[]) => {
  const e = new MimeNode('text/plain', { baseBoundary: 'x' }).setEnvelope({ from, to }).getEnvelope();
  return { from: e.from || '', to: e.to };
};

const addresses = [
  'a@example.com',
  'first.last+tag@mail.example.co.uk',
  "o'brien@example.ie",
  'x!#$%&*/=?^_`{|}~-y@example.org',
  'UPPER.local@example.com',
  'a@EXAMPLE.COM',
  'a@Example.com',
  'a@jõgeva.ee',
  'jõgeva@jõgeva.ee',
  'a@xn--jgeva-dua.ee',
  'a@xn--abc.example',
  'a@0x7f.1',
  'a@1.2.3',
  'a@1.2.3.4',
  'a@999',
  'a@[127.0.0.1]',
  '"quoted local"@example.com',
  'a..b@example.com',
  '.a@example.com',
  'a.@example.com',
  'a@-bad.example',
  'a@bad-.example',
  'a@ex_ample.com',
  'a@example.com.',
  'a@localhost',
  `a@${'l'.repeat(64)}.example`,
  `a@${'l'.repeat(63)}.example`,
  'a@ab--cd.example',
  'a@example.c0m',
  'a@example.0com',
];

t.test('every address: the fast path gives what nodemailer gives', async (t) => {
  for (const address of addresses) {
    t.same(smtpEnvelope(address, [address, 'b@example.com']), reference(address, [address, 'b@example.com']), address);
  }
});

t.test('recipients deduped as nodemailer does: after normalization, exactly', async (t) => {
  const to = ['b@example.com', 'b@example.com', 'B@example.com', 'b@EXAMPLE.com', 'c@bücher.de', 'c@xn--bcher-kva.de'];
  t.same(smtpEnvelope('a@example.com', to), reference('a@example.com', to));
  t.same(smtpEnvelope('a@example.com', ['b@example.com', 'b@example.com']).to, ['b@example.com'], 'fast path');
});
