import type { EmailStatus } from '@postline/contracts';

const MAX_TRANSLATED = 1_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resend's field names → ours (top level); everything else keeps its name, so the strict schema names it. */
const FIELDS: Record<string, string> = { reply_to: 'replyTo', scheduled_at: 'scheduledAt' };
const ATTACHMENT_FIELDS: Record<string, string> = { content_type: 'contentType' };
/** Ours → Resend's, for the paths in error messages. */
const BACK: Record<string, string> = { replyTo: 'reply_to', scheduledAt: 'scheduled_at', contentType: 'content_type' };

const rename = (o: Record<string, unknown>, names: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, v]));

/**
 * A Resend `POST /emails` body → our request, by renaming only: the values are validated by our
 * own schema afterwards (the same one as /v1), so nothing is accepted here that /v1 would refuse.
 * Tags `[{name, value}]` become our map; a template reference `{id, variables}` takes a tmpl_ id
 * as ours and anything else as a template name. Undefined fields (the SDK sends every key) drop.
 */
export function fromResend(body: unknown): unknown {
  if (!isObject(body)) return body;
  const email = rename(Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null)), FIELDS);
  // Lists longer than any limit are left as they are: the preflight count refuses them unread.
  if (Array.isArray(email.attachments) && email.attachments.length <= MAX_TRANSLATED) {
    email.attachments = email.attachments.map((a) => (isObject(a) ? rename(dropNulls(a), ATTACHMENT_FIELDS) : a));
  }
  const tags = email.tags;
  if (Array.isArray(tags) && tags.length <= MAX_TRANSLATED && tags.every((t) => isObject(t) && typeof t.name === 'string')) {
    email.tags = Object.fromEntries(tags.map((t) => [(t as { name: string }).name, (t as { value?: unknown }).value]));
  }
  const template = email.template;
  if (isObject(template) && typeof template.id === 'string') {
    const { id, ...rest } = template;
    email.template = id.startsWith('tmpl_') ? { id, ...rest } : { name: id, ...rest };
  }
  return email;
}

/**
 * Resend can fetch an attachment from a URL (`path`). We never fetch: a sender's URL would make
 * the API a proxy into its own network. So `path` is refused by name, before the schema would
 * complain first about the missing `content`. Pointers are to the translated email (`prefix` for
 * a batch item).
 */
export function fetchedAttachments(email: unknown, prefix = ''): { path: string; message: string }[] {
  if (!isObject(email) || !Array.isArray(email.attachments) || email.attachments.length > MAX_TRANSLATED) return [];
  return email.attachments.flatMap((a, i) =>
    isObject(a) && a.path !== undefined
      ? [
          {
            path: `${prefix}/attachments/${i}/path`,
            message: 'attachments are never fetched from a URL; send the file as base64 `content`',
          },
        ]
      : [],
  );
}

function dropNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

/** A JSON pointer of ours as a Resend client would name the field (`/replyTo` → `reply_to`). */
export function resendPath(pointer: string): string {
  const parts = pointer.split('/').filter(Boolean);
  return parts.map((p) => BACK[p] ?? p).join('.') || '(body)';
}

/** Our state → Resend's `last_event` (a state a later version added goes as it is). */
export function lastEvent(state: string): string {
  switch (state) {
    case 'sending':
      return 'queued';
    case 'retrying':
      return 'delivery_delayed';
    default:
      return state;
  }
}

/**
 * An email as Resend's emails.get and emails.list give it. The ledger keeps outcomes, not content:
 * from, subject and the bodies live only on the topic, so they are null.
 */
export function toResendEmail(status: EmailStatus) {
  return {
    object: 'email',
    id: status.id,
    to: status.recipients.map((r) => r.address),
    from: null,
    subject: null,
    html: null,
    text: null,
    cc: null,
    bcc: null,
    reply_to: null,
    created_at: status.createdAt,
    scheduled_at: status.scheduledAt,
    last_event: lastEvent(status.status),
    message_id: status.messageId,
  };
}
