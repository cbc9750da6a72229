import { connect, type Socket } from 'node:net';

/**
 * A client that starts a message and stops mid-DATA, holding the session open: what a slow or
 * vanished sender looks like to a server. `commands` run before DATA (each must succeed).
 * `localAddress`: another loopback address (127.0.0.0/8) is another client to the server.
 */
export async function startMessage(port: number, commands: string[], localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let buffer = '';
  socket.on('data', (c) => {
    buffer += c;
  });
  const reply = async (code: string) => {
    for (let i = 0; i < 500; i++) {
      const final = buffer.split('\r\n').find((line) => /^\d{3} /.test(line));
      if (final) {
        buffer = '';
        if (!final.startsWith(code)) throw new Error(`expected ${code}, got: ${final}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${code} reply`);
  };
  await reply('220');
  for (const command of ['EHLO client.example', ...commands]) {
    socket.write(`${command}\r\n`);
    await reply(command.startsWith('AUTH') ? '235' : '250');
  }
  socket.write('DATA\r\n');
  await reply('354');
  socket.write('Subject: never finished\r\n\r\nthe rest never comes');
  return socket;
}
