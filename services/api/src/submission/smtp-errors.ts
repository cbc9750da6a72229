/** An error smtp-server answers with this reply code. */
export function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

interface AnyError {
  code?: string;
  message: string;
  errors?: { path: string; message: string }[];
}

/**
 * Our coded errors → SMTP replies. Anything we could not confirm is a 4xx, so the client keeps the
 * message and retries (the same Message-ID makes a retry the same email); what it sent wrong is a 5xx.
 */
export function toSmtpReply(error: AnyError): Error & { responseCode: number } {
  const first = error.errors?.[0];
  switch (error.code) {
    case 'EMAIL_ERR_VALIDATION':
      return smtpError(550, `5.6.0 Message refused: ${first ? `${first.path} ${first.message}` : error.message}`);
    case 'EMAIL_ERR_MESSAGE_UNREADABLE':
      return smtpError(550, `5.6.0 ${error.message}`);
    case 'EMAIL_ERR_SENDER_NOT_ALLOWED':
      return smtpError(550, '5.7.1 Sender domain not allowed');
    case 'EMAIL_ERR_IDEMPOTENCY_CONFLICT':
      return smtpError(554, '5.6.0 This Message-ID was already submitted with other content');
    case 'EMAIL_ERR_RATE_LIMITED':
      return smtpError(451, '4.7.1 Rate limit exceeded for this API key; try again later');
    default:
      return smtpError(451, '4.3.0 Not accepted: the email queue did not confirm it; try again');
  }
}
