import type { Socket } from 'node:net';
import type { SMTPServerSession } from 'smtp-server';
import { smtpError } from './smtp-errors.js';

/** smtp-server's own list of a session's disabled commands (3.21+, its README); @types lacks it. */
type Session = SMTPServerSession & { disabledCommands?: string[] | undefined };

/*
 * With a certificate, SMTP submission neither offers nor takes AUTH before STARTTLS (RFC 4954 §4,
 * Postfix's smtpd_tls_auth_only). smtp-server listed AUTH in the clear EHLO and refused it (538)
 * only once it came, and AUTH PLAIN carries the API key on its own line: a client that skipped
 * STARTTLS had sent the key across the network before it learnt. Offered no AUTH, smtplib and
 * swaks stop before sending it.
 */

/** onConnect: a session that is not yet inside TLS has no AUTH (nor lists it in EHLO). */
export function withholdAuth(session: SMTPServerSession): void {
  if (!session.secure) (session as Session).disabledCommands = ['AUTH'];
}

/** onSecure: inside TLS the session has the server's commands again, AUTH among them. */
export function offerAuth(_socket: Socket, session: SMTPServerSession, callback: (error?: Error | null) => void): void {
  (session as Session).disabledCommands = undefined;
  callback();
}

/**
 * onMailFrom's first check. smtp-server asks a session to authenticate before MAIL only while the
 * session has AUTH: one that withholdAuth() left without it is refused here, as Postfix does.
 */
export function unauthenticated(session: SMTPServerSession): Error | null {
  if (session.user) return null;
  return smtpError(530, session.secure ? '5.7.0 Authentication required' : '5.7.0 Must issue a STARTTLS command first');
}
