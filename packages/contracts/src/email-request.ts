import { z } from 'zod';
import { emailAddress, parseAddress } from './address.js';

export interface RequestLimits {
  maxRecipients: number;
  maxSubjectLength: number;
  maxAttachments: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxRecipients: 50, maxSubjectLength: 998, maxAttachments: 10 };

/**
 * Headers the service sets or derives itself. A client may not set them: From/To/… come from
 * the request's own fields, Message-ID is derived from the email id (so every resend carries
 * the same one), and Content-* and MIME structure are nodemailer's job.
 */
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'sender',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'return-path',
  'received',
  'dkim-signature',
]);

/** RFC 5322 field name: printable US-ASCII except colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;
const NO_CRLF = /^[^\r\n\0]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIME_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9_-]+=(?:[A-Za-z0-9_.-]+|"[^"\r\n]*"))*$/;

const oneLine = (max: number) => z.string().max(max).regex(NO_CRLF, 'must not contain line breaks');

const recipients = z.union([emailAddress, z.array(emailAddress).min(1)]);

const headerName = z
  .string()
  .regex(FIELD_NAME, 'must be an RFC 5322 field name (printable ASCII, no colon or space)')
  .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()) && !n.toLowerCase().startsWith('content-'), {
    message: 'is set by the service and cannot be overridden',
  });

const attachment = z.strictObject({
  // A name for the recipient's mail client, never a path on our side.
  filename: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\r\n\0]+$/, 'must be a plain file name (no slashes or line breaks)'),
  content: z.string().min(1).regex(BASE64, 'must be base64'),
  contentType: z.string().regex(MIME_TYPE, 'must be a MIME type such as application/pdf').optional(),
});

const tagKey = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tag names are 1-64 letters, digits, _ or -');

export function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The email request, as POSTed and as carried in the Kafka envelope. Unknown keys are rejected. */
export function emailRequestSchema(limits: RequestLimits = DEFAULT_LIMITS) {
  return z
    .strictObject({
      from: emailAddress,
      to: recipients,
      cc: recipients.optional(),
      bcc: recipients.optional(),
      replyTo: recipients.optional(),
      subject: oneLine(limits.maxSubjectLength).min(1),
      text: z.string().min(1).optional(),
      html: z.string().min(1).optional(),
      headers: z.record(headerName, oneLine(998)).optional(),
      attachments: z.array(attachment).max(limits.maxAttachments).optional(),
      tags: z.record(tagKey, z.string().max(256)).optional(),
    })
    .superRefine((req, ctx) => {
      if (req.text === undefined && req.html === undefined) {
        ctx.addIssue({ code: 'custom', path: ['text'], message: 'text or html (or both) is required' });
      }
      const count = toList(req.to).length + toList(req.cc).length + toList(req.bcc).length;
      if (count > limits.maxRecipients) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `at most ${limits.maxRecipients} recipients in total (to + cc + bcc), got ${count}`,
        });
      }
      if (req.tags && Object.keys(req.tags).length > 20) ctx.addIssue({ code: 'custom', path: ['tags'], message: 'at most 20 tags' });
    });
}

export type EmailRequest = z.output<ReturnType<typeof emailRequestSchema>>;

/** Every address of a request, parsed (for sender checks and SMTP envelopes). */
export function allRecipients(req: EmailRequest): string[] {
  return [...toList(req.to), ...toList(req.cc), ...toList(req.bcc)].map((a) => parseAddress(a)?.address ?? a);
}
