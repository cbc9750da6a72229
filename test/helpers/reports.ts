// Delivery status notifications (RFC 3464) and feedback reports (ARF, RFC 5965) as an MTA or a
// mailbox provider writes them, for the bounce listener's tests.

const CRLF = '\r\n';

/** A long field folded as RFC 5322 §2.2.3 says: a line break before a space that was already there. */
function folded(field: string): string[] {
  const at = field.indexOf(' ', 40);
  return at < 0 ? [field] : [field.slice(0, at), field.slice(at)];
}

export interface DsnOptions {
  /** The VERP address it is sent back to (RCPT TO), also its To: header. */
  to: string;
  recipient: string;
  action: 'failed' | 'delayed' | 'delivered';
  status: string;
  diagnostic?: string;
  /** The original message's headers, enclosed as text/rfc822-headers. */
  originalHeaders: string[];
  /** More recipients with the same Action and Status, a per-recipient block each. */
  others?: string[];
}

export function dsn(o: DsnOptions): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    `To: <${o.to}>`,
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Mon, 30 Nov 2026 10:00:00 +0000',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"',
    '',
    '--dsn-boundary',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.example.net.',
    'I am sorry to have to inform you that your message could not be delivered.',
    '',
    '--dsn-boundary',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    'Arrival-Date: Mon, 30 Nov 2026 09:59:58 +0000',
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    `Original-Recipient: rfc822;${o.recipient}`,
    `Action: ${o.action}`,
    `Status: ${o.status}`,
    'Remote-MTA: dns; mail.example.net',
    ...(o.diagnostic ? folded(`Diagnostic-Code: smtp; ${o.diagnostic}`) : []),
    ...(o.others ?? []).flatMap((other) => ['', `Final-Recipient: rfc822; ${other}`, `Action: ${o.action}`, `Status: ${o.status}`]),
    '',
    '--dsn-boundary',
    'Content-Type: text/rfc822-headers',
    '',
    ...o.originalHeaders,
    '',
    '--dsn-boundary--',
    '',
  ].join(CRLF);
}

export interface ArfOptions {
  to: string;
  feedbackType: string;
  /** Original-Rcpt-To; left out when null (the recipient is then the original's To:). */
  originalRcptTo: string | null;
  /** The original message, enclosed as message/rfc822. */
  original: string[];
}

export function arf(o: ArfOptions): string {
  return [
    'From: <staff@isp.example>',
    `To: <${o.to}>`,
    'Subject: FW: Your appointment',
    'Date: Mon, 30 Nov 2026 11:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="arf-boundary"',
    '',
    '--arf-boundary',
    'Content-Type: text/plain; charset="US-ASCII"',
    '',
    'This is an email abuse report for an email message received from IP 192.0.2.1.',
    '',
    '--arf-boundary',
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${o.feedbackType}`,
    'User-Agent: SomeGenerator/1.0',
    'Version: 1',
    'Original-Mail-From: <somespammer@example.net>',
    ...(o.originalRcptTo ? [`Original-Rcpt-To: <${o.originalRcptTo}>`] : []),
    'Arrival-Date: Mon, 30 Nov 2026 10:20:00 +0000',
    'Source-IP: 192.0.2.1',
    '',
    '--arf-boundary',
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    ...o.original,
    '',
    '--arf-boundary--',
    '',
  ].join(CRLF);
}
