import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';

/** Lines a client may send before STARTTLS: as many as smtp-server allows a session before AUTH. */
export const COMMANDS_BEFORE_TLS = 10;

const REFUSAL = '421 4.7.0 Too many commands before STARTTLS; closing connection\r\n';
/** Enough of a line to tell STARTTLS (and a PROXY line) from anything else. */
const PREFIX = 16;

/*
 * smtp-server counts a session's commands before AUTH (10, then 421), but only while the session
 * has AUTH. With a certificate, AUTH is withheld until STARTTLS (auth-after-tls.ts), so before it
 * nothing was counted: a client without a key kept a connection (one of its 50) for as long as it
 * liked, a NOOP now and then, where inside TLS it is cut after ten. Postfix bounds the same with
 * smtpd_junk_command_limit. Here the lines a client sends before STARTTLS are counted on the
 * socket, so smtp-server's internals are not relied on: past COMMANDS_BEFORE_TLS it gets a 421 and
 * the connection ends. The count stops at the STARTTLS line; after it the socket carries TLS.
 */

/** Bounds every connection of `server` to `max` lines before STARTTLS. Call before acceptBehindBalancers, which hands each connection to the handlers there were. */
export function limitCommandsBeforeTls(server: SMTPServer, max = COMMANDS_BEFORE_TLS): void {
  server.server.prependListener('connection', (socket: Socket) => {
    let lines = 0;
    let line = '';
    let first = true;
    const count = (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; ) {
        const end = chunk.indexOf(0x0a, at);
        if (line.length < PREFIX) line += chunk.toString('latin1', at, Math.min(end === -1 ? chunk.length : end, at + PREFIX));
        if (end === -1) return;
        at = end + 1;
        const command = line.trim().toUpperCase();
        line = '';
        // The PROXY line smtp-proxy.ts puts first is not the client's.
        if (first && command.startsWith('PROXY ')) {
          first = false;
          continue;
        }
        first = false;
        if (command === 'STARTTLS') return void socket.off('data', count);
        if (++lines > max) {
          socket.off('data', count);
          socket.end(REFUSAL, () => socket.destroy());
          return;
        }
      }
    };
    socket.on('data', count);
  });
}
