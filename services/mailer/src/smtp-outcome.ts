export type SmtpOutcome =
  | { kind: 'sent'; response: string; rejected: string[] }
  /** 4xx, or a connection that failed mid-conversation: try again later (counts an attempt). */
  | { kind: 'transient'; error: string; response: string | null }
  /** 5xx, rejected recipients, an unsendable message: never try again. */
  | { kind: 'permanent'; error: string; response: string | null }
  /** The message was handed to the server and then the connection broke before its reply. */
  | { kind: 'uncertain'; error: string }
  /** No SMTP server could be reached at all: nothing is wrong with this email. */
  | { kind: 'unavailable'; error: string };

interface SmtpError {
  message?: string;
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

const NEVER_SENDABLE = new Set(['EMESSAGE', 'EENVELOPE', 'ECONFIG', 'EFILEACCESS', 'EURLACCESS', 'EMAXRECIPIENTS', 'ESTREAM']);

/**
 * What a nodemailer error means for this email. `handedOver` is true once the whole message
 * was written to the connection (after DATA): a failure without a reply is then uncertain.
 */
export function classifySmtpError(raw: unknown, handedOver: boolean): SmtpOutcome {
  const e = (raw ?? {}) as SmtpError;
  const error = e.message ?? String(raw);
  const response = e.response ?? null;
  if (e.responseCode) {
    return e.responseCode >= 500 ? { kind: 'permanent', error, response } : { kind: 'transient', error, response };
  }
  if (handedOver) return { kind: 'uncertain', error };
  if (e.code && NEVER_SENDABLE.has(e.code)) return { kind: 'permanent', error, response };
  // Could not connect, or the connection died before the server spoke.
  if (e.command === 'CONN' || e.originalCode === 'ECONNREFUSED' || e.code === 'EDNS' || e.code === 'ECONNREFUSED') {
    return { kind: 'unavailable', error };
  }
  return { kind: 'transient', error, response };
}
