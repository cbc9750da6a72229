import t from 'tap';
import { AUTH } from '../helpers/api.js';
import { startBounceListener } from '../helpers/bounce-listener.js';
import { eventually } from '../helpers/mailer.js';
import { Postfix } from '../helpers/postfix.js';
import { System } from './harness.js';

type Listed = { data: { type: string; data: Record<string, unknown> & { recipient?: string } }[] };

// Every timing setting at its production default. Postfix stands where a smarthost does, between
// the mailer and the recipients' server (the test's SMTP server), and writes its own bounces.
t.test(
  '19. a real MTA in the path (Postfix): its own DSN for a recipient the next hop refused comes back to that recipient’s VERP address → bounced (hard) and suppressed, the other recipient untouched',
  async (t) => {
    const domain = 'bounces.example.com';
    const listener = await startBounceListener(t, domain);
    const system = await System.start(t, { mailers: 0, mailer: { BOUNCE_DOMAIN: domain } });
    const postfix = await Postfix.start(t, { 'example.net': system.sink.port, [domain]: listener.bounceSmtpPort });
    await system.startMailer(60_000, { SMTP_URL: postfix.url });

    const call = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${system.apiUrl}${path}`, {
        method,
        headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (res.status === 204 ? null : await res.json()) as T };
    };
    // Addresses of this run: the ledger (and its suppression list) outlives the test.
    const run = Date.now().toString(36);
    const [kept, gone] = [`kept-${run}@example.net`, `gone-${run}@example.net`];
    t.teardown(() => call('DELETE', `/v1/suppressions/${gone}`));
    system.sink.refuseRecipients.set(gone, {
      code: 550,
      message: `5.1.1 <${gone}>: Recipient address rejected: User unknown in virtual mailbox table`,
    });

    const sent = await call<{ id: string }>('POST', '/v1/emails', {
      from: 'Shop <orders@example.com>',
      to: [kept, gone],
      subject: 'through postfix',
      text: 'hi',
    });
    t.equal(sent.status, 202);
    const { id } = sent.body;
    const events = async () => (await call<Listed>('GET', `/v1/emails/${id}/events`)).body.data;
    const bounced = await eventually(async () => (await events()).some((e) => e.type === 'email.bounced'), 60_000, 500);
    t.ok(bounced, `Postfix's bounce was recorded${bounced ? '' : `; Postfix logged:\n${postfix.log().slice(-3000)}`}`);
    // The email had two recipients: a report without a tag speaks for neither, so this event came
    // through the tag of the refused recipient's own Return-Path, where Postfix sent its DSN.
    const bounces = (await events()).filter((e) => e.type === 'email.bounced');
    t.match(
      bounces,
      [{ data: { recipient: gone, bounceType: 'hard', status: '5.1.1', smtpResponse: /User unknown/ } }],
      'one email.bounced, for the refused recipient, from the Status Postfix wrote',
    );
    const status = await call<{ status: string; recipients: { address: string; status: string }[] }>('GET', `/v1/emails/${id}`);
    t.equal(status.body.status, 'sent', 'sent: Postfix took both recipients');
    const suppressions = (await call<{ data: { address: string; reason: string; emailId: string }[] }>('GET', '/v1/suppressions')).body
      .data;
    t.match(
      suppressions.filter((s) => s.address === gone),
      [{ reason: 'hard_bounce', emailId: id }],
      'the refused recipient is suppressed',
    );
    t.notOk(
      suppressions.some((s) => s.address === kept),
      'the other is not',
    );
    const copies = system.sink.received.filter((m) => m.subject === 'through postfix');
    t.same(
      copies.map((m) => m.to),
      [[kept]],
      'the other recipient got its copy',
    );
    t.match(copies[0]?.from, new RegExp(`^bounces\\+${id}-[0-9a-f]{16}@${domain}$`), 'with its own VERP Return-Path, kept by Postfix');
  },
);
