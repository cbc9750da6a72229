import { z } from 'zod';

/**
 * Custom headers by allowlist. Everything else is either the service's to set (From, To,
 * Message-ID, Date, MIME structure, DKIM-Signature) or a header receivers and filters trust as
 * written by a hop or a verifier (Received, Authentication-Results, ARC-*, Received-SPF,
 * Delivered-To, Resent-*, Return-Path): a client could forge a trace or a verdict with it.
 */
const ALLOWED = new Map<string, RegExp | null>([
  // RFC 2369 / RFC 8058 list headers: unsubscribe links that mailbox providers require of bulk senders.
  ['list-unsubscribe', /^\s*<[^<>\s]{1,900}>(?:\s*,\s*<[^<>\s]{1,900}>)*\s*$/],
  ['list-unsubscribe-post', /^List-Unsubscribe=One-Click$/],
  ['list-id', null],
  ['list-help', null],
  ['list-subscribe', null],
  ['list-post', null],
  ['list-owner', null],
  ['list-archive', null],
  // Threading (RFC 5322 §3.6.4): one or more <msg-id>.
  ['in-reply-to', /^(?:\s*<[^<>\s@]{1,250}@[^<>\s@]{1,250}>)+\s*$/],
  ['references', /^(?:\s*<[^<>\s@]{1,250}@[^<>\s@]{1,250}>)+\s*$/],
  // RFC 3834: keeps auto-responders from answering notifications.
  ['auto-submitted', /^(?:no|auto-generated|auto-replied|auto-notified)(?:\s*;[^\r\n]*)?$/i],
  // Bulk-mail hints senders are asked to set: Gmail's feedback loop id, and Precedence for autoresponders.
  ['feedback-id', null],
  ['precedence', /^(?:bulk|list|junk)$/i],
]);

/** X-* headers that are trace or filter verdicts written by receiving hops, not by a sender. */
const X_TRACE = /^x-(?:received|original-|originating-|forwarded-|envelope-|google-|ms-exchange-|spam-|virus-|postline-)/i;

/** RFC 5322 field name: printable US-ASCII except colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;

export const MAX_HEADERS = 50;
export const MAX_HEADER_BYTES = 16 * 1024;

/** Why a client may not set this header, or null when it may. */
export function headerNameProblem(name: string): string | null {
  if (!FIELD_NAME.test(name)) return 'must be an RFC 5322 field name (printable ASCII, no colon or space)';
  const lower = name.toLowerCase();
  if (lower.startsWith('x-')) return X_TRACE.test(lower) ? 'is a trace or filter header and cannot be set by a client' : null;
  if (ALLOWED.has(lower)) return null;
  return 'is not an allowed header: use X-* or one of List-*, In-Reply-To, References, Auto-Submitted, Feedback-ID, Precedence';
}

/**
 * A header line is at most 998 characters (RFC 5322 2.1.1). A value is folded at its spaces and
 * non-ASCII is written as encoded words, which split; a run of 998 printable ASCII characters
 * does neither, and went out as a 999-character line (the fold's space before it).
 */
export function foldable(value: string): boolean {
  // One pass: a regex of /[\x21-\x7e]{998}/ restarts at every character, quadratic on a near miss.
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    run = c > 0x20 && c < 0x7f ? run + 1 : 0;
    if (run === 998) return false;
  }
  return true;
}
export const UNFOLDABLE_MESSAGE = 'must not hold 998 characters without a space (a header line is at most 998)';

const headerValue = z
  .string()
  .max(998)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain line breaks or control characters')
  .refine(foldable, UNFOLDABLE_MESSAGE);

/** The custom headers of an email, on the request and in the envelope alike. */
export const customHeaders = z.record(z.string(), headerValue).superRefine((headers, ctx) => {
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_HEADERS} headers` });
  let bytes = 0;
  for (const name of names) {
    const value = headers[name] as string;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
    const problem = headerNameProblem(name);
    const format = ALLOWED.get(name.toLowerCase());
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    else if (format && !format.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `is not a valid ${name} value` });
  }
  if (bytes > MAX_HEADER_BYTES) ctx.addIssue({ code: 'custom', message: `headers are at most ${MAX_HEADER_BYTES} bytes in total` });
});
