import { attachmentBytes, type QueuedEmail, recipientCount } from './email-request.js';
import { domainOf, type Mailbox } from './mailbox.js';

/** This deployment's sending policy: enforced by the API at the edge and again by the mailer. */
export interface SendPolicy {
  senderDomains: readonly string[];
  maxRecipients: number;
  maxAttachments: number;
  maxAttachmentBytes: number;
}

export type PolicyViolation = { code: 'sender-not-allowed'; domain: string } | { code: 'over-limit'; detail: string };

/** The sender allowlist: the domain of the parsed `from` address, exactly one of `domains` (lower case). */
export function senderAllowed(from: Mailbox, domains: readonly string[]): boolean {
  return domains.includes(domainOf(from.address));
}

/** The first rule this email breaks, or null. Pure and bounded: the mailer runs it on every record. */
export function policyViolation(email: QueuedEmail, policy: SendPolicy): PolicyViolation | null {
  if (!senderAllowed(email.from, policy.senderDomains)) return { code: 'sender-not-allowed', domain: domainOf(email.from.address) };
  const recipients = recipientCount(email);
  if (recipients > policy.maxRecipients) return { code: 'over-limit', detail: `${recipients} recipients (limit ${policy.maxRecipients})` };
  const attachments = email.attachments ?? [];
  if (attachments.length > policy.maxAttachments) {
    return { code: 'over-limit', detail: `${attachments.length} attachments (limit ${policy.maxAttachments})` };
  }
  const bytes = attachmentBytes(attachments);
  if (bytes > policy.maxAttachmentBytes)
    return { code: 'over-limit', detail: `${bytes} attachment bytes (limit ${policy.maxAttachmentBytes})` };
  return null;
}
