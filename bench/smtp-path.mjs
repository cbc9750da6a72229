// What nodemailer's layers cost an email, in this process's CPU (no Kafka, no ledger): the mailer's
// own sender (services/mailer/dist/smtp-sender.js: build-message.js makes the bytes once, then the
// pooled transport's sendMail sends them as `raw`), the same bytes written over nodemailer's bare
// SMTPConnection (no Mailer, MailMessage or pool: what a transport of our own would do), and the
// build alone. Interleaved rounds against the bench's SMTP sink in its own process.
// `npx tsc -b && node bench/smtp-path.mjs` (SMTP_PATH_EMAILS, SMTP_PATH_ROUNDS).
import { randomUUID } from 'node:crypto';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { ENVELOPE_VERSION } from '../packages/contracts/dist/index.js';
import { createLogger } from '../packages/runtime/dist/index.js';
import { buildMessage } from '../services/mailer/dist/build-message.js';
import { emptyKeyring } from '../services/mailer/dist/dkim-keys.js';
import { createSmtpSender, messageIdFor } from '../services/mailer/dist/smtp-sender.js';
import { startSink } from './lib/sink.mjs';

const EMAILS = Number(process.env.SMTP_PATH_EMAILS ?? 5000);
const ROUNDS = Number(process.env.SMTP_PATH_ROUNDS ?? 4);
const POOL = 5;
const sink = await startSink();
const text = 'Hello! '.repeat(150);
// A new one each send: nodemailer keeps and changes the envelope it is given.
const envelope = () => ({ from: 'orders@example.com', to: ['customer@example.net'] });

/** Sends n emails with `sendOne`, POOL × 4 at a time (as the mailer keeps the pool busy). */
async function drive(n, sendOne, workers = POOL * 4) {
  let next = 0;
  const worker = async (w) => {
    while (next < n) await sendOne(next++, w);
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
}

/** An email as the mailer receives it, the same as `build` makes. */
const queued = () => ({
  v: ENVELOPE_VERSION,
  id: randomUUID(),
  account: 'bench',
  acceptedAt: new Date().toISOString(),
  attempt: 0,
  email: {
    from: { name: 'Orders', address: 'orders@example.com' },
    to: [{ name: '', address: 'customer@example.net' }],
    subject: 'Your order has shipped',
    text,
  },
});

/** The bytes the mailer's sender would send for a new email: its own buildMessage. */
const build = () => {
  const email = queued();
  return buildMessage(email, messageIdFor(email.id, 'bench.example'));
};

/** The mailer's sender, with its defaults, sending n emails. */
const viaSender = (create) => async (n) => {
  const options = { url: sink.url, poolSize: POOL, timeoutMs: 10_000, sendTimeoutMs: 45_000, rejectUnauthorized: true };
  const log = createLogger({ name: 'bench', level: 'silent' });
  const sender = create({ ...options, messageIdDomain: 'bench.example', dkim: emptyKeyring, dkimRequired: false }, log);
  await drive(n, async () => {
    const outcome = await sender.send(queued());
    if (outcome.kind !== 'sent') throw new Error(`not sent: ${outcome.kind}`);
  });
  sender.close();
};

// SMTP_PATH_SENDER=<path of another build's services/mailer/dist/smtp-sender.js>, inside the
// repository (its imports resolve from there): that sender too, in the same rounds.
const other = process.env.SMTP_PATH_SENDER ? await import(process.env.SMTP_PATH_SENDER) : null;
const variants = {
  "the mailer's sender": viaSender(createSmtpSender),
  ...(other && { [`the sender at ${process.env.SMTP_PATH_SENDER}`]: viaSender(other.createSmtpSender) }),
  'build + SMTPConnection.send': async (n) => {
    const connections = await Promise.all(
      Array.from(
        { length: POOL },
        () =>
          new Promise((resolve, reject) => {
            const c = new SMTPConnection({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
            c.once('error', reject);
            c.connect(() => resolve(c));
          }),
      ),
    );
    const sendOn = (c, raw) => new Promise((resolve, reject) => c.send(envelope(), raw, (e, info) => (e ? reject(e) : resolve(info))));
    await drive(n, async (_i, w) => sendOn(connections[w], await build()), POOL);
    for (const c of connections) c.quit();
  },
  'build only': async (n) => {
    for (let i = 0; i < n; i++) await build();
  },
};

const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(variants)) {
    await sink.reset();
    const cpu = process.cpuUsage();
    await run(EMAILS);
    const used = process.cpuUsage(cpu);
    results[name].push((used.user + used.system) / EMAILS);
  }
}
await sink.close();
// The first round compiles: the rest are reported.
for (const [name, runs] of Object.entries(results)) {
  const kept = runs.slice(1).sort((a, b) => a - b);
  console.log(`${name.padEnd(30)} ${kept.map((us) => us.toFixed(0)).join(' / ')} µs of CPU an email (rounds 2–${ROUNDS}, sorted)`);
}
