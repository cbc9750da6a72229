/** A recipient refused at RCPT TO, with the server's reply. */
export interface Refusal {
  recipient: string;
  response: string | null;
}

export type SmtpOutcome =
  /**
   * Accepted for `accepted`; `refusals` were refused at RCPT while the others went through (or,
   * sent one transaction each, were not tried after a failure: send-each.ts). `uncertain`: those
   * of them whose transaction broke after DATA.
   */
  | { kind: 'sent'; response: string; accepted: string[]; refusals: Refusal[]; uncertain?: string[] }
  /**
   * 4xx, or a connection that failed mid-conversation: try again later (counts an attempt).
   * `beforeData`: it failed before the DATA phase (a reply to EHLO, STARTTLS, AUTH, MAIL or RCPT,
   * or a TLS failure), so nothing can have been delivered: another relay may take it.
   */
  | { kind: 'transient'; error: string; response: string | null; refusals?: Refusal[]; beforeData?: boolean }
  /** 5xx, every recipient refused, an unsendable message: never try again. */
  | { kind: 'permanent'; error: string; response: string | null; refusals?: Refusal[] }
  /** The server answered DATA and the body went out, then the connection broke (or the deadline passed) before its reply. */
  | { kind: 'uncertain'; error: string }
  /** No SMTP server could be reached at all: nothing is wrong with this email. */
  | { kind: 'unavailable'; error: string };

/**
 * Whether an outcome says the server as a whole is in trouble (the circuit breaker counts it):
 * unreachable, dropping us, or answering 421. A 4xx about one email is not an outage.
 */
export function isOutage(outcome: SmtpOutcome): boolean {
  if (outcome.kind === 'unavailable' || outcome.kind === 'uncertain') return true;
  return outcome.kind === 'transient' && (outcome.response === null || outcome.response.startsWith('421'));
}

interface SmtpError {
  message?: string;
  rejectedErrors?: { recipient?: string; response?: string }[];
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

// Not ESTREAM: the message is a Buffer built before the send, so a stream error is local
// trouble (it used to be a one-shot stream read twice), never a fault of the email.
const NEVER_SENDABLE = new Set(['EMESSAGE', 'EENVELOPE', 'ECONFIG', 'EFILEACCESS', 'EURLACCESS', 'EMAXRECIPIENTS']);

/** nodemailer's per-recipient RCPT errors (on a sent message's info, or on the all-refused error). */
export function refusalsOf(rejectedErrors: SmtpError['rejectedErrors']): Refusal[] {
  return (rejectedErrors ?? []).map((r) => ({ recipient: String(r.recipient ?? ''), response: r.response ?? null }));
}

/**
 * What a nodemailer error means for this email. `dataBegan` is true once the server answered
 * DATA and the body started going out (message-source.ts): a failure without a reply, including
 * the send deadline (EABORT), is then uncertain. Before that nothing can have been delivered.
 */
export function classifySmtpError(raw: unknown, dataBegan: boolean): SmtpOutcome {
  const e = (raw ?? {}) as SmtpError;
  const error = e.message ?? String(raw);
  const response = e.response ?? null;
  if (e.responseCode) {
    const refusals = refusalsOf(e.rejectedErrors);
    if (e.responseCode >= 500)
      return refusals.length > 0 ? { kind: 'permanent', error, response, refusals } : { kind: 'permanent', error, response };
    const beforeData = !dataBegan && isBeforeData(e.command);
    return { kind: 'transient', error, response, ...(refusals.length > 0 ? { refusals } : {}), beforeData };
  }
  if (dataBegan) return { kind: 'uncertain', error };
  if (e.code && NEVER_SENDABLE.has(e.code)) return { kind: 'permanent', error, response };
  // Could not connect, or the connection died before the server spoke.
  if (e.command === 'CONN' || e.originalCode === 'ECONNREFUSED' || e.code === 'EDNS' || e.code === 'ECONNREFUSED') {
    return { kind: 'unavailable', error };
  }
  // A TLS handshake that failed (STARTTLS or smtps): before any command that carries mail.
  const tls = e.code === 'ETLS' || /certificate|SSL|TLS/i.test(error);
  return { kind: 'transient', error, response, beforeData: tls || isBeforeData(e.command) };
}

/** nodemailer's name for the command that failed: every one before DATA. */
function isBeforeData(command: string | undefined): boolean {
  return command !== undefined && /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b|MAIL FROM|RCPT TO)/i.test(command);
}
