import { connect, type Socket } from 'node:net';

/** The AUTH PLAIN command for an API key (any user name: the key is the password). */
export function authPlain(key: string): string {
  return `AUTH PLAIN ${Buffer.from(`\0apikey\0${key}`).toString('base64')}`;
}

/** A client on a bare socket: it writes bytes exactly as given (smtplib and swaks fix line ends). */
export async function rawSession(port: number, localAddress = '127.0.0.1') {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let buffer = '';
  socket.on('data', (c) => {
    buffer += c;
  });
  /** The next final reply line, once it has come. */
  const next = async (): Promise<string> => {
    for (let i = 0; i < 3_000; i++) {
      const final = buffer.split('\r\n').find((line) => /^\d{3} /.test(line));
      if (final) {
        buffer = buffer.slice(buffer.indexOf(final) + final.length + 2);
        return final;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no reply');
  };
  const reply = async (code: string) => {
    const final = await next();
    if (!final.startsWith(code)) throw new Error(`expected ${code}, got: ${final}`);
  };
  /** EHLO, then `commands` (each must succeed), then DATA up to its 354. */
  const begin = async (commands: string[]) => {
    await reply('220');
    for (const command of ['EHLO client.example', ...commands]) {
      socket.write(`${command}\r\n`);
      await reply(command.startsWith('AUTH') ? '235' : '250');
    }
    socket.write('DATA\r\n');
    await reply('354');
  };
  return { socket, next, begin };
}

/**
 * A client that starts a message and stops mid-DATA, holding the session open: what a slow or
 * vanished sender looks like to a server. `commands` run before DATA (each must succeed).
 * `localAddress`: another loopback address (127.0.0.0/8) is another client to the server.
 */
export async function startMessage(port: number, commands: string[], localAddress = '127.0.0.1'): Promise<Socket> {
  const { socket, begin } = await rawSession(port, localAddress);
  await begin(commands);
  socket.write('Subject: never finished\r\n\r\nthe rest never comes');
  return socket;
}

/**
 * A whole message written as raw bytes after DATA (`data` must end the data itself), then NOOP:
 * every reply the server gave from the end of the data on, up to the NOOP's. A server that ended
 * the data early gives more than two.
 */
export async function submitRaw(port: number, commands: string[], data: string): Promise<string[]> {
  const { socket, next, begin } = await rawSession(port, '127.0.0.1');
  try {
    await begin(commands);
    socket.write(data);
    socket.write('NOOP\r\n');
    const replies: string[] = [];
    while (!/^(250 OK|221)/.test(replies.at(-1) ?? '') && replies.length < 20) replies.push(await next());
    return replies;
  } finally {
    socket.destroy();
  }
}
