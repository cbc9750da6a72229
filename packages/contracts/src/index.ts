export { domainOf, emailAddress, type ParsedAddress, parseAddress } from './address.js';
export {
  allRecipients,
  DEFAULT_LIMITS,
  type EmailRequest,
  emailRequestSchema,
  type RequestLimits,
  toList,
} from './email-request.js';
export { EMAIL_STATES, type EmailState, type EmailStatus, FINAL_STATES, type StuckEmail } from './email-status.js';
export { ENVELOPE_HEADERS, ENVELOPE_VERSION, type Envelope, envelopeSchema } from './envelope.js';
