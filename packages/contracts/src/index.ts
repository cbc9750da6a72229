export { isHardBounce } from './bounce-class.js';
export {
  allRecipients,
  attachmentBytes,
  DEFAULT_LIMITS,
  type EmailRequest,
  emailRequestSchema,
  HARD_LIMITS,
  legacyEmailSchema,
  MAX_REPLY_TO,
  MAX_TAGS,
  type QueuedEmail,
  type RequestLimits,
  scheduledAtSchema,
  subjectSchema,
} from './email-request.js';
export {
  CANCELABLE_STATES,
  EMAIL_STATES,
  type EmailState,
  type EmailStatus,
  emailStatusSchema,
  FINAL_STATES,
  type StuckEmail,
  stuckEmailSchema,
} from './email-status.js';
export { ENVELOPE_HEADERS, ENVELOPE_VERSION, type Envelope, envelopeSchema } from './envelope.js';
export {
  anyEventTypeSchema,
  canceledEvent,
  type EmailEvent,
  EVENT_HEADERS,
  EVENT_TYPES,
  type EventData,
  type EventType,
  emailEvent,
  emailEventSchema,
  eventDataSchema,
  eventId,
  queuedEvent,
  type RelayedEvent,
  relayedEventSchema,
  scheduledEvent,
  type WebhookPayload,
  webhookBody,
  webhookPayloadSchema,
} from './events.js';
export { customHeaders, MAX_HEADERS } from './headers.js';
export { addrSpecProblem, domainOf, type Mailbox, parseMailbox } from './mailbox.js';
export { policyViolation, type SendPolicy, senderAllowed } from './policy.js';
export { normalizeAddress, RECIPIENT_STATES, type RecipientOutcome, type RecipientState, recipientOutcomeSchema } from './recipients.js';
export {
  MAX_TEMPLATE_SOURCE,
  MAX_TEMPLATE_VARIABLES,
  renderedFromSchema,
  type TemplateRef,
  templateName,
  templateRefSchema,
  VARIABLE_TYPES,
  type VariableDeclaration,
  type VariablesDeclaration,
  type VariableType,
  variableDeclarationSchema,
  variableName,
  variablesDeclarationSchema,
} from './templates.js';
export { EMAIL_ID_PATTERN, parseVerp, type Verp, verpAddress, verpTag } from './verp.js';
