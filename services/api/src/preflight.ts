import { MAX_HEADERS, MAX_REPLY_TO, MAX_TAGS, type RequestLimits } from '@postline/contracts';
import type { FieldError } from './errors.js';
import { validationProblem } from './validation.js';

const RECIPIENT_FIELDS = ['to', 'cc', 'bcc'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const lengthOf = (v: unknown) => (Array.isArray(v) ? v.length : typeof v === 'string' ? 1 : 0);
/** Counts keys without building the key array of a huge object. */
function keyCountOver(obj: Record<string, unknown>, max: number): boolean {
  let n = 0;
  for (const _ in obj) if (++n > max) return true;
  return false;
}

function* emailBounds(email: unknown, at: string, limits: RequestLimits): Generator<FieldError> {
  if (!isObject(email)) return;
  const recipients = RECIPIENT_FIELDS.reduce((sum, f) => sum + lengthOf(email[f]), 0);
  if (recipients > limits.maxRecipients) {
    yield { path: `${at}/to`, message: `at most ${limits.maxRecipients} recipients in total (to + cc + bcc), got ${recipients}` };
  }
  if (lengthOf(email.replyTo) > MAX_REPLY_TO) yield { path: `${at}/replyTo`, message: `at most ${MAX_REPLY_TO} reply-to addresses` };
  if (isObject(email.headers) && keyCountOver(email.headers, MAX_HEADERS))
    yield { path: `${at}/headers`, message: `at most ${MAX_HEADERS} headers` };
  if (isObject(email.tags) && keyCountOver(email.tags, MAX_TAGS)) yield { path: `${at}/tags`, message: `at most ${MAX_TAGS} tags` };
  const attachments = email.attachments;
  if (Array.isArray(attachments)) {
    if (attachments.length > limits.maxAttachments) {
      yield { path: `${at}/attachments`, message: `at most ${limits.maxAttachments} attachments` };
    } else {
      const encoded = attachments.reduce(
        (sum: number, a) => sum + (isObject(a) && typeof a.content === 'string' ? a.content.length : 0),
        0,
      );
      if (encoded * 0.75 > limits.maxAttachmentBytes + 2 * attachments.length) {
        yield { path: `${at}/attachments`, message: `attachments are at most ${limits.maxAttachmentBytes} bytes in total` };
      }
    }
  }
}

/**
 * Bounded work for any request: counts every list and map of a body before a single element is
 * validated, so a 200,000-element array costs one comparison, not 200,000 address parses and a
 * 19 MB error. The schema checks the same limits again on what passes (for the OpenAPI document
 * and for bodies under the caps). Throws the 400; returns how many emails the body holds.
 */
export function preflight(body: unknown, limits: RequestLimits, maxBatch: number | null): number {
  const errors: FieldError[] = [];
  let emails = 1;
  if (maxBatch === null) errors.push(...emailBounds(body, '', limits));
  else if (isObject(body) && Array.isArray(body.emails)) {
    emails = body.emails.length;
    if (emails > maxBatch) errors.push({ path: '/emails', message: `at most ${maxBatch} emails in a batch, got ${emails}` });
    else {
      for (const [i, email] of body.emails.entries()) errors.push(...emailBounds(email, `/emails/${i}`, limits));
    }
  }
  if (errors.length > 0) throw validationProblem(errors);
  return Math.max(1, Math.min(emails, maxBatch ?? 1));
}
