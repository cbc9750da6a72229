import { loadMailparser } from '../submission/mailparser.js';
import { readMessage } from '../submission/read-message.js';

/** The bounce listener's only work, so loaded with it (submission loads it on first use: lazy-parser.ts). */
const { simpleParser } = loadMailparser();

/** One recipient of a delivery status notification (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** Final-Recipient's address (Original-Recipient's when there is one: what we sent to). */
  recipient: string;
  action: string;
  /** Status, e.g. 5.1.1 (RFC 3463). */
  status: string;
  /** Diagnostic-Code's text, e.g. "550 5.1.1 User unknown" (its type, "smtp;", dropped). */
  diagnostic: string | null;
}

export type Report =
  /** `original`: the report's body, where the original message (or its headers) is enclosed. */
  | { kind: 'dsn'; recipients: DsnRecipient[]; original: string }
  | { kind: 'arf'; feedbackType: string; recipient: string | null; original: string }
  | { kind: 'malformed'; reason: string };

/** Field blocks as RFC 3464 and RFC 5965 write them: header-like lines, folded, blocks split by a blank line. */
export function fieldBlocks(text: string): Map<string, string>[] {
  const unfolded = text.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ');
  return unfolded
    .split(/\n\s*\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon < 1) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        // The first of a repeated field wins (Original-Rcpt-To may repeat; one report, one recipient).
        if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
      }
      return fields;
    })
    .filter((f) => f.size > 0);
}

/**
 * The most a report's message/delivery-status or message/feedback-report part may hold. RFC 3464
 * writes a block of a few hundred bytes per recipient, and an email of ours has at most 50; a
 * larger part is malformed, never read: fieldBlocks over 9.5 MB of blank lines (anyone can send
 * one) took the listener past its 128 MB heap, and the process died.
 */
export const MAX_FIELDS_BYTES = 128 * 1024;

/** The report's body after its own header block (where the original is enclosed), at most 1 MiB read. */
function body(raw: Buffer): string {
  const text = raw.subarray(0, 1024 * 1024).toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? '' : text.slice(end);
}

/** `rfc822; user@example.net` → user@example.net (the address type is dropped; <> too). */
function typedAddress(value: string | undefined): string | null {
  if (!value) return null;
  const address = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const bare = address.trim().replace(/^<|>$/g, '');
  return /^[^@\s]+@[^@\s]+$/.test(bare) ? bare : null;
}

/**
 * Reads a bounce (multipart/report; report-type=delivery-status) or a complaint
 * (report-type=feedback-report). Anything else, or a report without the fields that make it
 * one, is `malformed`: it is kept for inspection, never guessed at.
 */
export async function parseReport(raw: Buffer): Promise<Report> {
  // Read as submission reads a message (readMessage): anyone on the internet can send a report,
  // and one of 10 MB of empty lines (BOUNCE_MAX_BYTES) took mailparser past the API's heap; the
  // process died.
  const mail = await readMessage(raw, simpleParser, { keepDeliveryStatus: true });
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (type?.value?.toLowerCase() !== 'multipart/report') return { kind: 'malformed', reason: 'not a multipart/report' };
  const reportType = type.params?.['report-type']?.toLowerCase();
  const part = (contentType: string) => mail.attachments.find((a) => a.contentType.toLowerCase() === contentType);
  // The enclosed original (message/rfc822 or text/rfc822-headers), read from the raw body: a
  // parser renders an inline message/rfc822 as text and drops the headers that name our email.
  // RFC 2046 keeps message/rfc822 unencoded, so its header lines are there as they were sent.
  const original = body(raw);

  if (reportType === 'delivery-status') {
    const status = part('message/delivery-status');
    if (!status) return { kind: 'malformed', reason: 'delivery-status report without a message/delivery-status part' };
    if (status.content.length > MAX_FIELDS_BYTES)
      return { kind: 'malformed', reason: `a message/delivery-status part over ${MAX_FIELDS_BYTES} bytes` };
    // The first block is about the message; each one after it about one recipient.
    const recipients = fieldBlocks(status.content.toString('utf8'))
      .slice(1)
      .map((f) => ({
        recipient: typedAddress(f.get('original-recipient')) ?? typedAddress(f.get('final-recipient')),
        action: (f.get('action') ?? '').toLowerCase(),
        status: /^([245]\.\d{1,3}\.\d{1,3})/.exec(f.get('status') ?? '')?.[1] ?? null,
        diagnostic: f.get('diagnostic-code')?.replace(/^[a-z0-9-]+\s*;\s*/i, '') ?? null,
      }))
      .filter((r): r is DsnRecipient => r.recipient !== null && r.status !== null && r.action !== '');
    if (recipients.length === 0) return { kind: 'malformed', reason: 'no recipient with an Action and a Status' };
    return { kind: 'dsn', recipients, original };
  }
  if (reportType === 'feedback-report') {
    const feedback = part('message/feedback-report');
    if (!feedback) return { kind: 'malformed', reason: 'feedback report without a message/feedback-report part' };
    if (feedback.content.length > MAX_FIELDS_BYTES)
      return { kind: 'malformed', reason: `a message/feedback-report part over ${MAX_FIELDS_BYTES} bytes` };
    const [fields] = fieldBlocks(feedback.content.toString('utf8'));
    const feedbackType = fields?.get('feedback-type')?.toLowerCase();
    if (!feedbackType) return { kind: 'malformed', reason: 'feedback report without a Feedback-Type' };
    return { kind: 'arf', feedbackType, recipient: typedAddress(fields?.get('original-rcpt-to')), original };
  }
  return { kind: 'malformed', reason: `report-type ${reportType ?? '(none)'} is neither delivery-status nor feedback-report` };
}
