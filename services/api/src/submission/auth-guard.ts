import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { smtpError } from './smtp-errors.js';

/**
 * A wrong key is answered this long after it came (Dovecot's auth_failure_delay is 2 s): without
 * it, one connection tried about 6,700 keys a second (200 in 30 ms, measured), and a client may
 * hold 50 connections. With it, at most 50 a second from one client.
 */
export const AUTH_FAILURE_DELAY_MS = 1_000;
/** The third wrong key on one connection ends it with a 421, as Postfix ends a session after too many errors. */
export const AUTH_FAILURES_PER_CONNECTION = 3;

type OnAuth = (
  auth: SMTPServerAuthentication,
  session: SMTPServerSession,
  callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
) => void;

/** The wrong keys of each client, shared with HTTP (auth-failures.ts; `failed` counts one). */
export interface ClientFailures {
  retryAfter(client: string | undefined): number;
  failed(client: string | undefined): void;
}

/**
 * smtp-server's `onAuth` for API keys as passwords (any user name). smtp-server itself bounds
 * neither: AUTH is not among the commands it counts before a session has logged in. A client
 * past AUTH_FAILURES_PER_MINUTE (over HTTP and here) gets a 421 before its key is looked at.
 */
export function keyAuth(accountForKey: (key: string) => string | null | undefined, clients: ClientFailures): OnAuth {
  // By session: smtp-server keeps one session object for a connection's whole life (RSET and EHLO included).
  const failures = new WeakMap<SMTPServerSession, number>();
  return (auth, session, callback) => {
    // remoteAddress: the client a listed balancer named (SUBMISSION_PROXY_FROM), else the peer.
    const retryAfter = clients.retryAfter(session.remoteAddress);
    if (retryAfter > 0) {
      const refused = smtpError(421, `4.7.0 Too many failed authentications from your address; try again in ${retryAfter} s`);
      return void setTimeout(() => callback(refused), AUTH_FAILURE_DELAY_MS).unref();
    }
    const account = accountForKey(auth.password ?? '');
    if (account) return callback(null, { user: account });
    clients.failed(session.remoteAddress);
    const count = (failures.get(session) ?? 0) + 1;
    failures.set(session, count);
    const error =
      count >= AUTH_FAILURES_PER_CONNECTION
        ? smtpError(421, '4.7.0 Too many failed authentications; closing connection')
        : smtpError(535, '5.7.8 Authentication failed: the password must be a postline API key');
    // unref: a wait for a wrong key never holds the API's shutdown.
    setTimeout(() => callback(error), AUTH_FAILURE_DELAY_MS).unref();
  };
}
