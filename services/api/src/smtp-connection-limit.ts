import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { clientOf } from './client-address.js';
import { smtpError } from './submission/smtp-errors.js';

/** The defaults of both SMTP listeners: connections at once, in all and from one client. */
export const SMTP_MAX_CONNECTIONS = 1_000;
export const SMTP_MAX_CONNECTIONS_PER_IP = 50;

interface Limits {
  total: number;
  perIp: number;
  /** Told of each client refused for its share (answered 421; smtp-server then closes the connection). */
  refused: (client: string) => void;
  /** Any other check on a new connection, run once it is admitted. */
  onConnect?: SMTPServerOptions['onConnect'];
}

/**
 * smtp-server options that bound the connections an SMTP listener holds. Why: a held connection
 * costs about 5.5 KB of heap (measured: 10,000 idle ones, 51 MB), and smtp-server takes any
 * number: 25,000 held open (a NOOP now and then keeps each alive) would need ~137 MB, past a 128 MB heap.
 * `maxClients` bounds the total (smtp-server answers 421 past it); the share of one client
 * (postfix's smtpd_client_connection_count_limit, also 50) keeps one client from taking all of it.
 */
export function connectionLimits({
  total,
  perIp,
  refused,
  onConnect,
}: Limits): Pick<SMTPServerOptions, 'maxClients' | 'onConnect' | 'onClose'> {
  const open = new Map<string, Set<string>>();
  return {
    maxClients: total,
    onConnect(session: SMTPServerSession, callback) {
      const client = clientOf(session.remoteAddress);
      const sessions = open.get(client) ?? new Set<string>();
      if (sessions.size >= perIp) {
        refused(client);
        return callback(smtpError(421, '4.7.0 Too many connections from your address; try again later'));
      }
      sessions.add(session.id);
      open.set(client, sessions);
      if (onConnect) return onConnect(session, callback);
      callback();
    },
    // Called for every connection that closes, admitted or not.
    onClose(session: SMTPServerSession | undefined) {
      if (!session?.remoteAddress) return;
      const client = clientOf(session.remoteAddress);
      const sessions = open.get(client);
      if (!sessions?.delete(session.id)) return;
      if (sessions.size === 0) open.delete(client);
    },
  };
}
