import nodemailer from 'nodemailer';
import t from 'tap';
import { uniqueName } from '../../../test/helpers/env.js';

const inboxUrl = process.env.INBOX_URL;
const smtpUrl = process.env.SMTP_URL;

t.test(
  'a message sent to the dev inbox over SMTP shows up in its API',
  { skip: !inboxUrl && 'no MailDev inbox in this run (SMTP_URL given)' },
  async (t) => {
    const transport = nodemailer.createTransport(smtpUrl!);
    t.teardown(() => transport.close());
    const subject = uniqueName('inbox-probe');
    const info = await transport.sendMail({ from: 'dev@example.test', to: 'someone@example.test', subject, text: 'hello inbox' });
    t.match(info.response, /^250 /);
    const res = await fetch(`${inboxUrl}/api/email`);
    t.equal(res.status, 200);
    const emails = (await res.json()) as { subject: string; to: { address: string }[] }[];
    const seen = emails.find((e) => e.subject === subject);
    t.ok(seen, 'the inbox lists the message');
    t.equal(seen?.to[0]?.address, 'someone@example.test');
  },
);
