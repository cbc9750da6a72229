import { createServer, type Socket } from 'node:net';
import type { Test } from 'tap';

/** One SMTP transaction as the recorder read it: its commands, and the DATA bytes exactly as they came. */
export interface RecordedTransaction {
  mailFrom: string;
  rcptTo: string[];
  data: Buffer;
}

/**
 * The end of DATA as the receivers that SMTP smuggling exploited read it (SEC Consult, 2023): a dot
 * alone on a line, whatever ends the lines around it, CR or LF alone included. RFC 5321 allows only
 * CRLF "." CRLF; a sender is safe with any receiver only if it never writes anything this matches
 * inside a message.
 */
const LENIENT_END = /(?:\r\n|\n|\r)\.(?:\r\n|\n|\r)/;

/**
 * An SMTP server on a bare socket, as lenient as those receivers: after DATA it ends the message at
 * the first LENIENT_END and reads whatever follows as commands. A message that smuggles a second
 * transaction past a sender shows here as a transaction of its own. Offers PIPELINING, as Postfix does.
 */
export async function lenientSmtpRecorder(t: Test): Promise<{ port: number; transactions: RecordedTransaction[]; commands: string[] }> {
  const transactions: RecordedTransaction[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket.on('error', () => {}));
    let buffer = Buffer.alloc(0);
    let current: RecordedTransaction | null = null;
    let inData = false;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const read = () => {
      for (;;) {
        if (inData) {
          // A dot on the first line of the data ends it too.
          const text = `\n${buffer.toString('latin1')}`;
          const end = LENIENT_END.exec(text);
          if (!end) return;
          // A CR at the end of what has come may be the first half of a CRLF still on its way.
          if (end.index + end[0].length === text.length && end[0].endsWith('\r')) return;
          const data = buffer.subarray(0, Math.max(0, end.index - 1));
          buffer = buffer.subarray(end.index - 1 + end[0].length);
          inData = false;
          if (current) transactions.push({ ...current, data });
          current = null;
          reply('250 2.0.0 queued');
          continue;
        }
        const eol = buffer.indexOf(0x0a);
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString('latin1').replace(/\r$/, '');
        buffer = buffer.subarray(eol + 1);
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-recorder\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 50000000');
        else if (verb === 'MAIL') {
          current = { mailFrom: /<([^>]*)>/.exec(line)?.[1] ?? '', rcptTo: [], data: Buffer.alloc(0) };
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          current?.rcptTo.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
          return;
        } else reply('250 ok');
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      read();
    });
    reply('220 recorder ESMTP');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, transactions, commands };
}
