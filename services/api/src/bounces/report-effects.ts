import {
  EMAIL_ID_PATTERN,
  type EmailEvent,
  emailEvent,
  isHardBounce,
  normalizeAddress,
  parseVerp,
  type Verp,
  verpTag,
} from '@postline/contracts';
import type { SuppressionWrite } from '@postline/ledger';
import type { Report } from './parse-report.js';

const OUR_MESSAGE_ID = new RegExp(`^Message-ID:\\s*<(${EMAIL_ID_PATTERN})@`, 'im');

/**
 * Which email a report is about, and which recipient when it names one by its VERP tag. A bounce
 * comes back to the VERP address itself (RCPT TO); a complaint usually comes to a fixed feedback
 * address, and names the email in the original it encloses (our VERP Return-Path, or our
 * Message-ID `<email id@…>`, which names no recipient).
 */
export function verpOf(rcptTo: string[], original: string, bounceDomain: string): Verp | null {
  for (const r of rcptTo) {
    const verp = parseVerp(r, bounceDomain);
    if (verp) return verp;
  }
  // The original's header lines, wherever the report's body has them: an id is only ever
  // trusted once the ledger knows it.
  const returnPath = /^Return-Path:\s*<?([^>\s]+)/im.exec(original)?.[1];
  const verp = returnPath ? parseVerp(returnPath, bounceDomain) : null;
  if (verp) return verp;
  const id = OUR_MESSAGE_ID.exec(original)?.[1]?.toLowerCase();
  return id ? { emailId: id, tag: null } : null;
}

/**
 * The recipients a report may speak for, of those the email was sent to. Anyone who received
 * one of our emails knows its Return-Path, so a report speaks only for the recipient its VERP tag
 * names (none, if the tag is no recipient's). A report without a tag (an email sent before tags,
 * or a complaint found by its Message-ID) speaks for an email's only recipient, and for no one of
 * an email with several: any of them could have written it about another.
 */
export function reportRecipients(verp: Verp, recipients: string[], key: Buffer): { recipients: string[]; tagged: string | null } {
  if (verp.tag === null) return { recipients: recipients.length === 1 ? recipients : [], tagged: null };
  const tagged = recipients.find((r) => verpTag(key, verp.emailId, r) === verp.tag) ?? null;
  return { recipients: tagged ? [tagged] : [], tagged };
}

/** The enclosed original's first To: address (a complaint without Original-Rcpt-To). */
function originalTo(original: string): string | null {
  return /^To:.*?<?([^\s<>,@]+@[^\s<>,@]+)>?/im.exec(original)?.[1] ?? null;
}

export interface Effects {
  events: EmailEvent[];
  suppress: SuppressionWrite[];
  /** Addresses the report named that the email was not sent to: nothing is recorded for them. */
  strangers: string[];
}

/**
 * What a report does: `email.bounced` per failed or delayed recipient (hard when its Status is
 * an address that does not exist, which suppresses it; permanent for any other 5.x.x; transient
 * for a delay or a 4.x.x), `email.complained` for a feedback report, which suppresses its
 * recipient. A positive DSN (delivered, relayed, expanded) does nothing.
 *
 * Only for `recipients` (reportRecipients(): the one its VERP tag names). A report that also
 * named other addresses would otherwise have suppressed them in the sender's account (a forged
 * DSN listing a competitor's customers, the account's own CEO, or another recipient of the same
 * email). A complaint is about the tagged recipient even when the provider redacted the address
 * it names; one whose recipient is not one is still a complaint about the email, without a
 * recipient or a suppression.
 */
export function reportEffects(
  report: Exclude<Report, { kind: 'malformed' }>,
  emailId: string,
  account: string,
  at: Date,
  recipients: string[],
  /** The recipient the report's VERP tag names, if it has one. */
  tagged: string | null = null,
): Effects {
  const events: EmailEvent[] = [];
  const suppress: SuppressionWrite[] = [];
  const strangers: string[] = [];
  const mayName = new Set(recipients.map(normalizeAddress));
  const ours = (address: string) => {
    if (mayName.has(normalizeAddress(address))) return true;
    strangers.push(address);
    return false;
  };
  if (report.kind === 'arf') {
    // Feedback loops often redact the address (Original-Rcpt-To, To:): the tag's recipient is the one.
    const named = tagged ?? report.recipient ?? originalTo(report.original);
    const recipient = named && ours(named) ? named : null;
    const data = { emailId, ...(recipient ? { recipient } : {}), feedbackType: report.feedbackType };
    events.push(emailEvent(account, 'email.complained', data, at, `arf:${recipient ?? ''}:${report.feedbackType}`));
    if (recipient) suppress.push({ address: normalizeAddress(recipient), reason: 'complaint', smtpResponse: null });
    return { events, suppress, strangers };
  }
  for (const r of report.recipients) {
    if (r.action !== 'failed' && r.action !== 'delayed') continue;
    if (!ours(r.recipient)) continue;
    const permanent = r.action === 'failed' && r.status.startsWith('5.');
    // The Status field decides, not the diagnostic text: it is the reporting MTA's own verdict.
    const hard = permanent && isHardBounce(`550 ${r.status}`);
    const bounceType = hard ? 'hard' : permanent ? 'permanent' : 'transient';
    const data = {
      emailId,
      recipient: r.recipient,
      status: r.status,
      bounceType,
      ...(r.diagnostic ? { smtpResponse: r.diagnostic } : {}),
    } as const;
    events.push(emailEvent(account, 'email.bounced', data, at, `dsn:${r.recipient}:${r.action}:${r.status}`));
    if (hard) suppress.push({ address: normalizeAddress(r.recipient), reason: 'hard_bounce', smtpResponse: r.diagnostic });
  }
  return { events, suppress, strangers };
}
