export { type AcceptedRequest, type AcceptedRow, recordAccepted, type SuppressionLookup } from './accepted-queries.js';
export { type Claim, type ClaimRequest, claimMany, type KafkaPosition, positionKey, releaseClaim } from './claim-queries.js';
export {
  type AttemptResult,
  type DeliveryView,
  type DueDelivery,
  enqueueDeliveries,
  listDeliveries,
  type NewDelivery,
  pendingDeliveries,
  recordAttempt,
  releaseBackoff,
  takeDue,
} from './delivery-queries.js';
export { insertEvents, type ListedEvent, listEvents, OUTBOX_RELAY_LOCK, relayOutbox } from './event-queries.js';
export { type ListCursor, type ListPage, listEmails } from './list-queries.js';
export { migrate, migrateDatabase } from './migrate.js';
export { MIGRATIONS } from './migrations.js';
export { createLedgerPool, type LedgerOptions } from './open-ledger.js';
export {
  type FinalState,
  type Outcome,
  type OutcomeRecord,
  type RecipientWrite,
  recordOutcomes,
} from './outcome-queries.js';
export { reopenFailed } from './redrive-queries.js';
export { keepReport, recordReport, reportTarget } from './report-queries.js';
export { type PurgeOptions, purgeExpired } from './retention.js';
export {
  overdueRetries,
  type ParkedRetry,
  parkRetry,
  type RecordHeaders,
  type RetryToPark,
  releaseDueRetries,
  wasParked,
} from './retry-park-queries.js';
export {
  type Change,
  cancelEmail,
  type DueEmail,
  overdueScheduled,
  type Parked,
  park,
  type Release,
  releaseDue,
  rescheduleEmail,
} from './schedule-queries.js';
export { getStatus, type Reservation, reserve } from './status-queries.js';
export { stuckEmails, unfinishedSummary } from './stuck-queries.js';
export {
  addSuppression,
  deleteSuppression,
  listSuppressions,
  type Suppression,
  type SuppressionWrite,
} from './suppression-queries.js';
export {
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplates,
  publishTemplate,
  resolveTemplate,
  type StoredTemplate,
  type TemplateContent,
  type TemplateVersion,
  updateDraft,
} from './template-queries.js';
export { type StorageLimit, VERSION_OVERHEAD_BYTES } from './template-storage.js';
export { takeTurn } from './turns.js';
export { verpKey } from './verp-key.js';
export {
  createEndpoint,
  deleteEndpoint,
  disableEndpoint,
  type EndpointSecrets,
  enabledEndpoints,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  type WebhookEndpoint,
} from './webhook-queries.js';
