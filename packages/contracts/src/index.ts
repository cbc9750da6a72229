export { mailboxObject, mailboxString } from './address.js';
export {
  allRecipients,
  base64Bytes,
  DEFAULT_LIMITS,
  type EmailRequest,
  emailRequestSchema,
  HARD_LIMITS,
  MAX_TAGS,
  type QueuedEmail,
  queuedEmailSchema,
  type RequestLimits,
  recipientCount,
} from './email-request.js';
export {
  EMAIL_STATES,
  type EmailState,
  type EmailStatus,
  emailStatusSchema,
  FINAL_STATES,
  type StuckEmail,
  stuckEmailSchema,
} from './email-status.js';
export { ENVELOPE_HEADERS, ENVELOPE_VERSION, type Envelope, envelopeSchema } from './envelope.js';
export { customHeaders, headerNameProblem, MAX_HEADER_BYTES, MAX_HEADERS } from './headers.js';
export { addrSpecProblem, domainOf, type Mailbox, type MailboxResult, parseMailbox } from './mailbox.js';
export { type PolicyViolation, policyViolation, type SendPolicy } from './policy.js';
