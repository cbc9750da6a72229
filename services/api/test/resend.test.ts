import t, { type Test } from 'tap';
import { buildApi, KEY } from '../../../test/helpers/api.js';
import { uniqueName } from '../../../test/helpers/env.js';
import { readTopic, testKafka } from '../../../test/helpers/kafka.js';
import { resendSdk } from '../../../test/helpers/resend-sdk.js';

// Issue #15 §1: the official `resend` SDK (pinned in devDependencies), pointed at /resend with
// RESEND_BASE_URL, against the real API (Kafka, Postgres). No hand-made requests: what the SDK
// sends and how it reads our answers is what is tested.

const from = 'Acme <hello@example.com>';

async function sdk(t: Test, key = KEY) {
  const { app, config } = await buildApi(t);
  return { resend: await resendSdk(t, app, key), app, config };
}

t.test('send, batch, get, update, cancel and idempotency through the resend SDK', async (t) => {
  const { resend, config } = await sdk(t);

  const sent = await resend.emails.send({
    from,
    to: ['Ann <ann@example.net>', 'bob@example.net'],
    cc: 'carol@example.net',
    replyTo: 'support@example.com',
    subject: 'Hello from the SDK',
    html: '<p>Hi</p>',
    text: 'Hi',
    headers: { 'X-Entity-Ref-ID': '123' },
    tags: [{ name: 'category', value: 'welcome' }],
    attachments: [{ filename: 'a.txt', content: Buffer.from('attached') }],
  });
  t.equal(sent.error, null, JSON.stringify(sent.error));
  const id = sent.data?.id as string;
  t.match(id, /^[0-9a-f-]{36}$/);

  const batch = await resend.batch.send([
    { from, to: 'one@example.net', subject: 'One', text: '1' },
    { from, to: 'two@example.net', subject: 'Two', text: '2' },
  ]);
  t.equal(batch.error, null, JSON.stringify(batch.error));
  t.equal(batch.data?.data.length, 2);

  const key = uniqueName('sdk-key');
  const first = await resend.emails.send({ from, to: 'x@example.net', subject: 'Once', text: 'x' }, { idempotencyKey: key });
  const again = await resend.emails.send({ from, to: 'x@example.net', subject: 'Once', text: 'x' }, { idempotencyKey: key });
  t.equal(again.data?.id, first.data?.id, 'the same Idempotency-Key: the same email');
  const other = await resend.emails.send({ from, to: 'x@example.net', subject: 'Other', text: 'x' }, { idempotencyKey: key });
  t.match(other.error, { name: 'invalid_idempotent_request', statusCode: 409 });

  // What went on the topic is our envelope, with the fields mapped.
  const records = await readTopic(testKafka(), config.EMAILS_TOPIC, (rs) => rs.length >= 4);
  const envelope = JSON.parse(records.find((r) => r.key === id)?.value ?? '{}');
  t.match(envelope.email, {
    from: { name: 'Acme', address: 'hello@example.com' },
    to: [{ name: 'Ann', address: 'ann@example.net' }, { address: 'bob@example.net' }],
    cc: [{ address: 'carol@example.net' }],
    replyTo: [{ address: 'support@example.com' }],
    headers: { 'X-Entity-Ref-ID': '123' },
    tags: { category: 'welcome' },
    attachments: [{ filename: 'a.txt', content: Buffer.from('attached').toString('base64') }],
  });
  t.equal(records.length, 4, 'one record per email; the idempotent replay and the conflict produced nothing');

  const got = await resend.emails.get(id);
  t.equal(got.error, null);
  t.match(got.data, { object: 'email', id, last_event: 'queued', scheduled_at: null });

  // Scheduled: update (reschedule) and cancel.
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const scheduled = await resend.emails.send({ from, to: 'y@example.net', subject: 'Later', text: 'y', scheduledAt: later });
  const sid = scheduled.data?.id as string;
  t.match((await resend.emails.get(sid)).data, { last_event: 'scheduled', scheduled_at: later });
  const moved = new Date(Date.now() + 7_200_000).toISOString();
  const update = await resend.emails.update({ id: sid, scheduledAt: moved });
  t.same(update.data, { object: 'email', id: sid });
  t.equal((await resend.emails.get(sid)).data?.scheduled_at, moved);
  t.same((await resend.emails.cancel(sid)).data, { object: 'email', id: sid });
  t.equal((await resend.emails.get(sid)).data?.last_event, 'canceled');
  t.match((await resend.emails.cancel(sid)).error, { statusCode: 409 }, 'a canceled email cannot be canceled again');
});

t.test('errors come back as the SDK expects them: { error: { name, statusCode, message } }', async (t) => {
  const { resend } = await sdk(t);
  const wrongDomain = await resend.emails.send({ from: 'x@evil.test', to: 'a@example.net', subject: 's', text: 't' });
  t.match(wrongDomain, { data: null, error: { name: 'validation_error', statusCode: 403 } });
  const missing = await resend.emails.send({ from, to: 'a@example.net', subject: 's' } as never);
  t.match(missing.error, { name: 'validation_error', statusCode: 422, message: /text/ });
  const badReplyTo = await resend.emails.send({ from, to: 'a@example.net', subject: 's', text: 't', replyTo: 'not an address' });
  t.match(badReplyTo.error, { statusCode: 422, message: /reply_to/ }, 'the field is named as the client wrote it');
  const forged = await resend.emails.send({ from, to: 'a@example.net', subject: 's', text: 't', headers: { 'DKIM-Signature': 'x' } });
  t.match(forged.error, { statusCode: 422 }, 'the same header allowlist as /v1');
  const unsupported = await resend.emails.send({ from, to: 'a@example.net', subject: 's', text: 't', topicId: 'news' });
  t.match(unsupported.error, { statusCode: 422, message: /topic_id/ });
  const path = await resend.emails.send({
    from,
    to: 'a@example.net',
    subject: 's',
    text: 't',
    attachments: [{ filename: 'x', path: 'https://example.org/x' }],
  });
  t.match(path.error, { statusCode: 422, message: /path/ }, 'attachments by URL are refused: the API never fetches');
  t.match((await resend.emails.get('00000000-0000-0000-0000-000000000000')).error, { name: 'not_found', statusCode: 404 });
  const tooMany = await resend.batch.send(Array.from({ length: 101 }, () => ({ from, to: 'a@example.net', subject: 's', text: 't' })));
  t.match(tooMany.error, { statusCode: 422 });
  const badItem = await resend.batch.send([
    { from, to: 'a@example.net', subject: 's', text: 't' },
    { from, to: 'bad', subject: 's', text: 't' },
  ]);
  t.match(badItem.error, { statusCode: 422, message: /1\.to/ }, 'one bad item rejects the batch and is named');
  const past = await resend.emails.update({ id: '00000000-0000-0000-0000-000000000000', scheduledAt: 'in 1 min' });
  t.match(past.error, { statusCode: 422, message: /scheduled_at/ }, 'natural-language times are refused: ISO 8601 with an offset only');

  const stranger = await sdk(t, 'not-a-key-of-this-service');
  t.match((await stranger.resend.emails.send({ from, to: 'a@example.net', subject: 's', text: 't' })).error, {
    name: 'invalid_api_key',
    statusCode: 403,
  });
});
