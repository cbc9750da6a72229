// G4's ceiling: nodemailer's own pooled transport sending straight to the sink, no Kafka, no ledger.
import nodemailer from 'nodemailer';

export async function rawNodemailer(sink, n, poolSize) {
  await sink.reset();
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: poolSize,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  const text = 'Hello! '.repeat(150);
  let next = 0;
  const started = performance.now();
  // Enough sends queued to keep every pooled connection busy, as the mailer does.
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await transport.sendMail({
        from: 'orders@example.com',
        to: 'customer@example.net',
        subject: 'Your order has shipped',
        text,
        messageId: `<raw-${i}@bench.example>`,
      });
    }
  };
  await Promise.all(Array.from({ length: poolSize * 4 }, worker));
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return n / seconds;
}
