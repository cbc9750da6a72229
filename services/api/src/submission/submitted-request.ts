import { createHash } from 'node:crypto';
import { MAX_HEADERS, normalizeAddress } from '@postline/contracts';
import type { AddressObject, ParsedMail } from 'mailparser';

interface Box {
  name?: string;
  address?: string;
}

const boxes = (field: AddressObject | AddressObject[] | undefined): Box[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value);

/** A mailbox as our request takes it: the name quoted (escaped), so our strict parser reads it back as it was. */
export function mailboxString(box: Box): string {
  const address = box.address ?? '';
  if (!box.name) return address;
  return `"${box.name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}" <${address}>`;
}

/** Unfolds a raw header line ("Key: value\r\n\tmore") into its value. */
const headerValue = (line: string) =>
  line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();

export interface Submitted {
  /**
   * /v1/emails bodies, for the same schema, allowlist and limits as HTTP: one email, or, when no
   * recipient is in the To or Cc header (a Bcc-only message), one per recipient, each addressed
   * to that recipient alone, so no recipient learns another.
   */
  bodies: Record<string, unknown>[];
  /** From the message's own Message-ID: a client that resubmits after a lost 250 gets the same email, not a second. */
  idempotencyKey?: string;
  /** Headers of the message that we do not pass on (ours to set, or not on the allowlist). */
  dropped: string[];
}

/**
 * A submitted message and its SMTP envelope → the request our API validates. The envelope is
 * authoritative for recipients: header To/Cc addresses that are RCPT TO recipients stay To/Cc,
 * every other RCPT TO recipient is Bcc, and header addresses that are not recipients are left out
 * (we never send to them). A message none of whose header recipients is a RCPT TO recipient is
 * split, one email per recipient. Headers pass when our allowlist (`headers` of the request) takes them;
 * From, Subject, Date, Message-ID and the MIME structure are rebuilt by the mailer.
 */
export function submittedRequest(mail: ParsedMail, rcptTo: string[], isAllowedHeader: (name: string, value: string) => boolean): Submitted {
  const recipients = new Set(rcptTo.map(normalizeAddress));
  const seen = new Set<string>();
  const pick = (list: Box[]) =>
    list.filter((b) => {
      const key = normalizeAddress(b.address ?? '');
      if (!recipients.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const to = pick(boxes(mail.to));
  const cc = pick(boxes(mail.cc));
  const bcc = rcptTo.filter((a) => !seen.has(normalizeAddress(a)));
  const [sender, ...more] = boxes(mail.from);

  const headers: Record<string, string> = {};
  const dropped: string[] = [];
  for (const { key, line } of mail.headerLines) {
    const name = line.slice(0, line.indexOf(':')).trim();
    const value = headerValue(line);
    if (Object.keys(headers).length < MAX_HEADERS && !Object.hasOwn(headers, name) && isAllowedHeader(name, value)) headers[name] = value;
    else dropped.push(key);
  }

  const body: Record<string, unknown> = {
    // More than one From mailbox is passed on as it is, for the schema to refuse.
    from: more.length > 0 ? [sender as Box, ...more].map(mailboxString) : mailboxString(sender ?? {}),
    subject: mail.subject?.trim() || '(no subject)',
  };
  const replyTo = boxes(mail.replyTo);
  if (replyTo.length > 0) body.replyTo = replyTo.map(mailboxString);
  if (mail.text) body.text = mail.text;
  if (mail.html) body.html = mail.html;
  if (!mail.text && !mail.html) body.text = '\n';
  if (Object.keys(headers).length > 0) body.headers = headers;
  if (mail.attachments.length > 0) {
    body.attachments = mail.attachments.map((a, i) => ({
      filename: (a.filename ?? '').replace(/[/\\\r\n\0]/g, '_') || `attachment-${i + 1}`,
      content: a.content.toString('base64'),
      contentType: a.contentType,
    }));
  }
  let bodies: Record<string, unknown>[];
  if (to.length + cc.length === 0) bodies = bcc.map((address) => ({ ...body, to: address }));
  else {
    // The schema needs a To: a message with only Cc recipients gets its first Cc as To.
    const head = to.length > 0 ? to : cc.slice(0, 1);
    const tail = to.length > 0 ? cc : cc.slice(1);
    const email: Record<string, unknown> = { ...body, to: head.map(mailboxString) };
    if (tail.length > 0) email.cc = tail.map(mailboxString);
    if (bcc.length > 0) email.bcc = bcc;
    bodies = [email];
  }
  const submitted: Submitted = { bodies, dropped };
  if (mail.messageId) submitted.idempotencyKey = `smtp:${createHash('sha256').update(mail.messageId).digest('base64url')}`;
  return submitted;
}
