import type { QueuedEmail } from './email-request.js';
import { base64Bytes, recipientCount } from './email-request.js';
import { domainOf } from './mailbox.js';

/** This deployment's sending policy: enforced by the API at the edge and again by the mailer. */
export interface SendPolicy {
  senderDomains: readonly string[];
  maxRecipients: number;
  maxAttachments: number;
  maxAttachmentBytes: number;
}

export type PolicyViolation = { code: 'sender-not-allowed'; domain: string } | { code: 'over-limit'; detail: string };

/** The first rule this email breaks, or null. Pure and bounded: the mailer runs it on every record. */
export function policyViolation(email: QueuedEmail, policy: SendPolicy): PolicyViolation | null {
  const domain = domainOf(email.from.address);
  if (!policy.senderDomains.includes(domain)) return { code: 'sender-not-allowed', domain };
  const recipients = recipientCount(email);
  if (recipients > policy.maxRecipients) return { code: 'over-limit', detail: `${recipients} recipients (limit ${policy.maxRecipients})` };
  const attachments = email.attachments ?? [];
  if (attachments.length > policy.maxAttachments) {
    return { code: 'over-limit', detail: `${attachments.length} attachments (limit ${policy.maxAttachments})` };
  }
  const bytes = attachments.reduce((sum, a) => sum + base64Bytes(a.content), 0);
  if (bytes > policy.maxAttachmentBytes)
    return { code: 'over-limit', detail: `${bytes} attachment bytes (limit ${policy.maxAttachmentBytes})` };
  return null;
}
