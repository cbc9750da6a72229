import t from 'tap';
import {
  createTopics,
  envelope,
  eventually,
  ledgerPool,
  ledgerRows,
  MESSAGE_ID_DOMAIN,
  mailerEnv,
  produce,
  startMailer,
} from '../../../test/helpers/mailer.js';
import { SmtpSink } from '../../../test/helpers/smtp-sink.js';

t.test('1,000 records → 1,000 messages, 1,000 distinct Message-IDs, each sent in the ledger', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const env = mailerEnv(sink.url);
  await createTopics(env);
  const envelopes = Array.from({ length: 1000 }, () => envelope());
  await produce(env.EMAILS_TOPIC!, envelopes);
  await startMailer(t, env);

  t.ok(await eventually(() => sink.received.length >= 1000, 120_000), `received ${sink.received.length}`);
  const counts = sink.counts();
  t.equal(counts.size, 1000, '1,000 distinct Message-IDs');
  t.ok(
    [...counts.values()].every((n) => n === 1),
    'each exactly once',
  );
  t.same(new Set(counts.keys()), new Set(envelopes.map((e) => `<${e.id}@${MESSAGE_ID_DOMAIN}>`)), 'Message-ID is <id@MESSAGE_ID_DOMAIN>');

  const pool = ledgerPool(t);
  const rows = await ledgerRows(
    pool,
    envelopes.map((e) => e.id),
  );
  t.equal([...rows.values()].filter((r) => r.state === 'sent' && r.attempts === 1).length, 1000, 'all sent, one attempt each');
  t.match(rows.get(envelopes[0]!.id), { smtp_response: /^250 /, message_id: `<${envelopes[0]!.id}@${MESSAGE_ID_DOMAIN}>` });
});

t.test('the message is what was asked for: headers, recipients, attachments', async (t) => {
  const sink = await new SmtpSink().start();
  t.teardown(() => sink.stop());
  const env = mailerEnv(sink.url);
  await createTopics(env);
  const e = envelope(
    {},
    {
      to: ['A <a@example.net>', 'b@example.net'],
      cc: 'c@example.net',
      bcc: 'hidden@example.net',
      subject: 'Grüße',
      html: '<p>hi</p>',
      headers: { 'X-Campaign': 'spring' },
      attachments: [{ filename: 'note.txt', content: Buffer.from('attached').toString('base64'), contentType: 'text/plain' }],
    },
  );
  await produce(env.EMAILS_TOPIC!, [e]);
  await startMailer(t, env);
  t.ok(await eventually(() => sink.received.length >= 1, 30_000));
  const m = sink.received[0]!;
  t.same(m.to.sort(), ['a@example.net', 'b@example.net', 'c@example.net', 'hidden@example.net'], 'envelope includes bcc');
  t.notMatch(m.raw, /hidden@example\.net/, 'but no Bcc header');
  t.match(m.raw, /^X-Campaign: spring$/m);
  t.match(m.raw, /filename=note\.txt/);
  t.match(m.raw, new RegExp(Buffer.from('attached').toString('base64')));
});
