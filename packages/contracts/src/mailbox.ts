/**
 * The one address parser of postline: a strict subset of RFC 5322 `mailbox`.
 *
 *   mailbox      = addr-spec / [display-name] "<" addr-spec ">"
 *   addr-spec    = dot-atom "@" hostname          (no quoted local parts, no IP literals)
 *   display-name = quoted-string / unquoted words (atext, ".", non-ASCII; single spaces or runs of them)
 *
 * Whatever is not exactly one mailbox is refused: unquoted specials (`, ; : ( ) < > [ ] @ \ "`),
 * comments, groups, tabs and every control or invisible formatting character. Every input this
 * accepts is read by an RFC 5322 parser (nodemailer's addressparser, checked by a property test)
 * as the same single mailbox, so there is no second reading to smuggle an address through.
 * Addresses are ASCII: an IDN domain must be sent in its A-label form (xn--…); SMTPUTF8 local
 * parts are refused, because a relay without SMTPUTF8 would reject them after the 202.
 */

export interface Mailbox {
  /** The display name, unquoted (absent when there is none). */
  name?: string;
  /** The addr-spec, as given (case kept: the local part may be case-sensitive). */
  address: string;
}

export type MailboxResult = { ok: true; mailbox: Mailbox } | { ok: false; reason: string };

export const MAX_NAME_LENGTH = 200;
const MAX_INPUT_LENGTH = 512;

/** RFC 5322 atext. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Control, format (bidi overrides, zero-width), line and paragraph separators: never in a name. */
export const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
/** Characters allowed in an unquoted display name: atext, ".", space and any other visible non-ASCII. */
const UNQUOTED_NAME = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\- \u0080-\u{10FFFF}]+$/u;

/** Why an addr-spec is not acceptable, or null when it is. */
export function addrSpecProblem(address: string): string | null {
  if (address.length > 254) return 'an address is at most 254 characters';
  if (/[^\p{ASCII}]/u.test(address)) {
    return 'addresses must be ASCII (give an IDN domain in its xn-- form; SMTPUTF8 local parts are not supported)';
  }
  if (/[^\x21-\x7e]/.test(address)) return 'must be one address: local-part@domain, or "Name <local-part@domain>"';
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@')) return 'must be one address: local-part@domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'the local part is at most 64 characters';
  if (!local.split('.').every((atom) => ATEXT.test(atom)))
    return 'the local part must be a dot-atom (quoted local parts are not supported)';
  if (domain.length === 0 || domain.length > 253 || !domain.split('.').every((label) => LABEL.test(label))) {
    return 'the domain must be a host name (letters, digits, hyphens; no IP literals)';
  }
  return null;
}

/** Reads a quoted-string starting at `open` (a `"`); returns its content and the index after it. */
function readQuoted(input: string, open: number): { text: string; end: number } | null {
  let text = '';
  for (let i = open + 1; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '"') return { text, end: i + 1 };
    if (c === '\\') {
      const next = input[i + 1];
      if (next === undefined) return null;
      text += next;
      i++;
    } else text += c;
  }
  return null;
}

const fail = (reason: string): MailboxResult => ({ ok: false, reason });

/** Parses exactly one mailbox, or says why not. Linear in the input; never throws. */
export function parseMailbox(input: string): MailboxResult {
  if (input.length > MAX_INPUT_LENGTH) return fail(`at most ${MAX_INPUT_LENGTH} characters`);
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(input)) return fail('must not contain line breaks, tabs or control characters');
  const s = input.trim();
  if (!s.endsWith('>')) {
    // A bare addr-spec: anything with a space, quote or bracket in it is not one.
    const problem = addrSpecProblem(s);
    return problem ? fail(problem) : { ok: true, mailbox: { address: s } };
  }
  const open = s.lastIndexOf('<');
  if (open < 0) return fail('unbalanced angle brackets');
  const address = s.slice(open + 1, -1);
  const problem = addrSpecProblem(address);
  if (problem) return fail(problem);
  const rawName = s.slice(0, open).trimEnd();
  if (rawName === '') return { ok: true, mailbox: { address } };

  let name: string;
  if (rawName.startsWith('"')) {
    const quoted = readQuoted(rawName, 0);
    if (!quoted || quoted.end !== rawName.length) {
      return fail('a display name is either one "quoted string" or plain words, followed by <address>');
    }
    // Trimmed like every RFC 5322 reader we checked: surrounding spaces are not part of the name.
    name = quoted.text.trim();
  } else {
    if (!UNQUOTED_NAME.test(rawName)) {
      return fail('a display name with any of , ; : ( ) < > [ ] @ \\ " must be quoted, e.g. "Doe, Jane" <jane@example.com>');
    }
    name = rawName;
  }
  if (INVISIBLE.test(name)) return fail('the display name must not contain control or invisible formatting characters');
  if (name.length > MAX_NAME_LENGTH) return fail(`a display name is at most ${MAX_NAME_LENGTH} characters`);
  return { ok: true, mailbox: name === '' ? { address } : { name, address } };
}

/** The domain of an addr-spec, lower-cased (for allowlists and per-domain accounting). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
