export {
  type Claim,
  claim,
  type KafkaPosition,
  purgeFinalOlderThan,
  recordFailed,
  recordRetrying,
  recordSent,
  releaseClaim,
} from './mailer-queries.js';
export { migrate } from './migrate.js';
export { MIGRATIONS } from './migrations.js';
export { type LedgerOptions, openLedger } from './open-ledger.js';
export { getStatus, type Reservation, recordAccepted, reserve } from './status-queries.js';
export { stuckEmails, unfinishedSummary } from './stuck-queries.js';
export { takeTurn } from './turns.js';
