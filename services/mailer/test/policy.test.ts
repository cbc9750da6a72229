import { simpleParser } from 'mailparser';
import t from 'tap';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { envelope, eventually, ledgerPool, ledgerRows, mailerFixture, produce, startMailer } from '../../../test/helpers/mailer.js';

t.test('what goes out is the parsed mailbox: a display name full of specials cannot become an address', async (t) => {
  const { sink, env } = await mailerFixture(t);
  const e = envelope(
    {},
    {
      from: '"ceo@evil.test, Doe (CEO) <ceo@evil.test>" <sender@example.com>',
      to: ['"victim@example.net, x" <a@example.net>'],
      bcc: 'hidden@example.net',
    },
  );
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(() => sink.received.length === 1, 30_000), 'sent');
  const [got] = sink.received;
  t.equal(got?.from, 'sender@example.com', 'MAIL FROM, as the SMTP server recorded it');
  t.same(got?.to, ['a@example.net', 'hidden@example.net'], 'RCPT TO: exactly the parsed recipients');
  const parsed = await simpleParser(got?.raw ?? '');
  t.same(parsed.from?.value, [{ address: 'sender@example.com', name: 'ceo@evil.test, Doe (CEO) <ceo@evil.test>' }], 'one From: mailbox');
  const to = Array.isArray(parsed.to) ? parsed.to : [parsed.to];
  t.same(
    to.flatMap((a) => a?.value.map((v) => v.address)),
    ['a@example.net'],
    'one To: mailbox, Bcc not in the headers',
  );
  t.same(sink.violations, []);
});

t.test('records from another producer meet this deployment’s policy, or are dead-lettered and never sent', async (t) => {
  const { sink, env } = await mailerFixture(t);
  const pool = ledgerPool(t);
  const foreign = envelope({}, { from: 'ceo@evil.test' });
  const tooMany = envelope({}, { to: Array.from({ length: 51 }, (_, i) => `r${i}@example.net`) });
  const good = envelope();
  const key = 'one-partition';
  // Version 1 (round 1) records carry strings: read with the same strict parser, a hostile one is refused.
  const legacyGood = {
    ...good,
    id: crypto.randomUUID(),
    v: 1,
    email: { from: 'Sender <sender@example.com>', to: 'x@example.net', subject: 'legacy', text: 't' },
  };
  const legacyHostile = {
    ...legacyGood,
    id: crypto.randomUUID(),
    email: { ...legacyGood.email, from: 'ceo@evil.test, ( <sender@example.com>' },
  };
  await produce(
    env.EMAILS_TOPIC!,
    [foreign, tooMany, good, legacyGood, legacyHostile].map((r) => ({ key, value: JSON.stringify(r) })),
  );
  await startMailer(t, env);
  t.ok(await eventually(() => sink.received.length >= 2, 30_000), 'the good ones are sent');
  const dlq = await readTopic(testKafka(), env.DEAD_LETTER_TOPIC!, (rs) => rs.length >= 3);
  const codes = new Map(dlq.map((r) => [JSON.parse(r.value ?? '{}').id, r.headers?.['dead-letter-code']?.toString()]));
  t.equal(codes.get(foreign.id), 'MAILER_ERR_POLICY', 'a sender outside SENDER_DOMAINS');
  t.equal(codes.get(tooMany.id), 'MAILER_ERR_POLICY', '51 recipients over MAX_RECIPIENTS');
  t.equal(codes.get(legacyHostile.id), 'MAILER_ERR_INVALID_RECORD', 'a v1 string no API would accept now');
  t.same(sink.received.map((r) => r.subject).sort(), [good.email.subject, 'legacy'].sort(), 'only the good ones reached SMTP');
  const rows = await ledgerRows(pool, [foreign.id, tooMany.id]);
  t.match(rows.get(foreign.id), { state: 'failed' }, 'the status API says failed, with the reason');
  t.same(sink.violations, []);
});
