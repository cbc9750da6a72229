import t from 'tap';
import { AUTH } from '../helpers/api.js';
import { eventually } from '../helpers/mailer.js';
import { System } from './harness.js';

// Every timing setting at its production default, the retry backoff included (mailerEnv shortens
// RETRY_BASE_MS to 200 ms for the other scenarios; empty is unset): the greylisted recipient's
// retry is due 30 s ± 20 % later. BOUNCE_DOMAIN as `npm start` sets it: a transaction per recipient.
t.test(
  '18. a recipient greylisted (450 at RCPT) while the other is accepted, with the defaults → retried for it alone, the partition flowing meanwhile',
  async (t) => {
    const system = await System.start(t, {
      mailers: 1,
      mailer: { BOUNCE_DOMAIN: 'bounces.example.com', RETRY_BASE_MS: '', RETRY_MAX_MS: '' },
    });
    const call = async <T = { id: string }>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${system.apiUrl}${path}`, {
        method,
        headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };
    const greylisted = 'greylisted@example.net';
    system.sink.greylist.add(greylisted);
    const subject = 'greylisted once';
    const sent = await call('POST', '/v1/emails', {
      from: 'Shop <orders@example.com>',
      to: ['first-try@example.net', greylisted],
      subject,
      text: 'hi',
    });
    t.equal(sent.status, 202);
    const { id } = sent.body;
    type Status = { status: string; recipients: { address: string; status: string }[] };
    const status = async () => (await call<Status>('GET', `/v1/emails/${id}`)).body;
    t.ok(await eventually(async () => (await status()).status === 'retrying', 60_000, 250), 'retrying');
    t.same(
      (await status()).recipients.map((r) => [r.address, r.status]),
      [
        ['first-try@example.net', 'accepted'],
        [greylisted, 'pending'],
      ],
      'one accepted, the greylisted one pending',
    );

    // While its retry waits, other emails on the same partitions go through.
    await system.load(8, { total: 200 }).finished;
    const copiesOf = () => system.sink.received.filter((m) => m.subject === subject);
    const summary = await system.reconcile('partial delivery');
    t.equal(summary.lost, 0, 'none of them lost');
    t.equal(summary.duplicated, 0, 'none twice');
    t.equal(copiesOf().length, 1, 'and all of them delivered before the retry was due');

    t.ok(await eventually(async () => (await status()).status === 'sent', 90_000, 500), 'sent once the retry went out');
    const copies = copiesOf();
    t.same(
      copies.map((m) => m.to),
      [['first-try@example.net'], [greylisted]],
      'as the SMTP server recorded them: the accepted recipient once, the greylisted one on the retry',
    );
    const waited = (copies[1]?.at ?? 0) - (copies[0]?.at ?? 0);
    t.ok(waited >= 23_000, `the retry waited the default backoff, 30 s less its jitter (${waited} ms)`);
    t.equal(new Set(copies.map((m) => m.messageId)).size, 1, 'one Message-ID');
    t.equal(new Set(copies.map((m) => m.from)).size, 2, 'a Return-Path per recipient');
    t.same(
      (await status()).recipients.map((r) => [r.address, r.status]),
      [
        ['first-try@example.net', 'accepted'],
        [greylisted, 'accepted'],
      ],
    );
    type Listed = { data: { type: string; data: { recipient?: string; final?: boolean } }[] };
    const events = (await call<Listed>('GET', `/v1/emails/${id}/events`)).body.data;
    t.same(
      events.map((e) => [e.type, e.data.recipient ?? '-', e.data.final === true].join(' ')),
      ['email.queued - false', `email.delivery_delayed ${greylisted} false`, 'email.sent - false', 'email.sent - true'],
      'delayed for the one recipient, then an email.sent for each part, the last final',
    );
  },
);
