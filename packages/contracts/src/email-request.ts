import { z } from 'zod';
import { mailboxObject, mailboxString } from './address.js';
import { customHeaders, foldable, UNFOLDABLE_MESSAGE } from './headers.js';
import type { Mailbox } from './mailbox.js';
import { templateRefSchema } from './templates.js';

export interface RequestLimits {
  maxRecipients: number;
  maxSubjectLength: number;
  maxAttachments: number;
  /** Decoded bytes of all attachments of one email together. */
  maxAttachmentBytes: number;
  /** How far ahead `scheduledAt` may be (MAX_SCHEDULE_DAYS). */
  maxScheduleDays: number;
}

export const DEFAULT_LIMITS: RequestLimits = {
  maxRecipients: 50,
  maxSubjectLength: 998,
  maxAttachments: 10,
  maxAttachmentBytes: 3 * 1024 * 1024,
  maxScheduleDays: 30,
};

/** What any producer may put on the topics, whatever a deployment configured (the mailer's schema bound). */
export const HARD_LIMITS: RequestLimits = {
  maxRecipients: 1000,
  maxSubjectLength: 998,
  maxAttachments: 100,
  maxAttachmentBytes: 64 * 1024 * 1024,
  maxScheduleDays: 3650,
};
export const MAX_TAGS = 20;
export const MAX_REPLY_TO = 10;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIME_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9_-]+=(?:[A-Za-z0-9_.-]+|"[^"\r\n]*"))*$/;

const oneLine = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\r\n\0]*$/, 'must not contain line breaks')
    .refine(foldable, UNFOLDABLE_MESSAGE);

/** Decoded size of a base64 string (valid base64 assumed). */
const base64Bytes = (b64: string) => (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);

/** Decoded bytes of all attachments of one email together. */
export function attachmentBytes(attachments: readonly { content: string }[] | undefined): number {
  return (attachments ?? []).reduce((sum, a) => sum + base64Bytes(a.content), 0);
}

const attachment = z.strictObject({
  // A name for the recipient's mail client, never a path on our side.
  filename: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\r\n\0]+$/, 'must be a plain file name (no slashes or line breaks)'),
  content: z.string().min(1).regex(BASE64, 'must be base64'),
  contentType: z
    .string()
    .regex(MIME_TYPE, 'must be a MIME type such as application/pdf')
    // An attachment is one part, sent base64: a multipart/* one would be a container encoded as
    // base64, which RFC 2045 6.4 forbids and receivers read as broken.
    .refine((type) => !/^multipart\//i.test(type), 'cannot be multipart/*: attach each of its parts')
    .optional(),
});

const tagKey = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tag names are 1-64 letters, digits, _ or -');

/** A recipient field on the request: one mailbox string or a list of them; always a list after parsing. */
const recipientList = (max?: number) =>
  z.union([
    mailboxString.transform((m) => [m]),
    max === undefined ? z.array(mailboxString).min(1) : z.array(mailboxString).min(1).max(max),
  ]);

/** The subject as sent: one line. */
export const subjectSchema = (limits: Pick<RequestLimits, 'maxSubjectLength'>) => oneLine(limits.maxSubjectLength).min(1);

/** The address fields as a client writes them: strings, parsed here once. */
const requestAddresses = () => ({
  from: mailboxString,
  to: recipientList(),
  cc: recipientList().optional(),
  bcc: recipientList().optional(),
  replyTo: recipientList(MAX_REPLY_TO).optional(),
});

/** The fields of an email other than its addresses, shared by the request and the envelope. */
function content(limits: RequestLimits) {
  return {
    subject: subjectSchema(limits),
    text: z.string().min(1).optional(),
    html: z.string().min(1).optional(),
    headers: customHeaders.optional(),
    attachments: z.array(attachment).max(limits.maxAttachments).optional(),
    tags: z.record(tagKey, z.string().max(256)).optional(),
  };
}

interface Countable {
  subject?: string | undefined;
  template?: unknown;
  to: Mailbox[];
  cc?: Mailbox[] | undefined;
  bcc?: Mailbox[] | undefined;
  text?: string | undefined;
  html?: string | undefined;
  attachments?: { content: string }[] | undefined;
  tags?: Record<string, string> | undefined;
}

/** Rules across fields, counted on parsed mailboxes: what is counted is what is sent. */
function crossChecks(limits: RequestLimits) {
  return (email: Countable, ctx: z.RefinementCtx) => {
    if (email.template !== undefined) {
      // The template is the content: a subject, html or text next to it would be ignored, so it is refused.
      for (const field of ['subject', 'html', 'text'] as const) {
        if (email[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'not allowed with template' });
      }
    } else {
      if (email.subject === undefined) ctx.addIssue({ code: 'custom', path: ['subject'], message: 'subject is required (or a template)' });
      if (email.text === undefined && email.html === undefined) {
        ctx.addIssue({ code: 'custom', path: ['text'], message: 'text or html (or both) is required' });
      }
    }
    const count = recipientCount(email);
    if (count > limits.maxRecipients) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `at most ${limits.maxRecipients} recipients in total (to + cc + bcc), got ${count}`,
      });
    }
    if (attachmentBytes(email.attachments) > limits.maxAttachmentBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['attachments'],
        message: `attachments are at most ${limits.maxAttachmentBytes} bytes in total`,
      });
    }
    if (email.tags && Object.keys(email.tags).length > MAX_TAGS)
      ctx.addIssue({ code: 'custom', path: ['tags'], message: `at most ${MAX_TAGS} tags` });
  };
}

/**
 * When to send: ISO 8601 with an offset (Z or ±hh:mm), at most maxScheduleDays ahead; normalised
 * to UTC. A time in the past means now (accept.ts sends it at once).
 */
export function scheduledAtSchema(maxScheduleDays: number) {
  return z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T09:00:00+01:00' })
    .transform((v) => new Date(v).toISOString())
    .refine((v) => Date.parse(v) - Date.now() <= maxScheduleDays * 86_400_000, `at most ${maxScheduleDays} days ahead`)
    .describe(`When to send (ISO 8601 with an offset), at most ${maxScheduleDays} days ahead; a time in the past means now`);
}

/** The email request as POSTed: addresses are strings, parsed here once. Unknown keys are rejected. */
export function emailRequestSchema(limits: RequestLimits = DEFAULT_LIMITS) {
  return z
    .strictObject({
      ...requestAddresses(),
      ...content(limits),
      subject: subjectSchema(limits).optional().describe('Required unless `template` is given'),
      scheduledAt: scheduledAtSchema(limits.maxScheduleDays).optional(),
      template: templateRefSchema
        .optional()
        .describe('Render a stored template instead of giving subject/html/text (rendered at the API, before the 202)'),
    })
    .superRefine(crossChecks(limits));
}

/** A round-1 (envelope v1) email: address strings, parsed as a request is, and no schedule or template. */
export const legacyEmailSchema = z
  .strictObject({
    ...requestAddresses(),
    ...content(HARD_LIMITS),
  })
  .superRefine(crossChecks(HARD_LIMITS));

/** The email as it travels on the topics: addresses are `{ name, address }`, never strings. */
export const queuedEmailSchema = z
  .strictObject({
    from: mailboxObject,
    to: z.array(mailboxObject).min(1),
    cc: z.array(mailboxObject).optional(),
    bcc: z.array(mailboxObject).optional(),
    replyTo: z.array(mailboxObject).optional(),
    ...content(HARD_LIMITS),
  })
  .superRefine(crossChecks(HARD_LIMITS));

export type EmailRequest = z.output<ReturnType<typeof emailRequestSchema>>;
export type QueuedEmail = z.output<typeof queuedEmailSchema>;

export function recipientCount(email: Pick<Countable, 'to' | 'cc' | 'bcc'>): number {
  return email.to.length + (email.cc?.length ?? 0) + (email.bcc?.length ?? 0);
}

/** Every envelope recipient (RCPT TO), in order: to, cc, bcc. */
export function allRecipients(email: Pick<Countable, 'to' | 'cc' | 'bcc'>): string[] {
  return [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])].map((m) => m.address);
}
