export {
  type Claim,
  claim,
  type KafkaPosition,
  recordFailed,
  recordRetrying,
  recordSent,
  releaseClaim,
} from './mailer-queries.js';
export { migrate } from './migrate.js';
export { MIGRATIONS } from './migrations.js';
export { createLedgerPool, type LedgerOptions } from './open-ledger.js';
export { type PurgeOptions, purgeExpired } from './retention.js';
export { getStatus, type Reservation, recordAccepted, reserve } from './status-queries.js';
export { stuckEmails, unfinishedSummary } from './stuck-queries.js';
export { takeTurn } from './turns.js';
