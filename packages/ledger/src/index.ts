export { migrate } from './migrate.js';
export { MIGRATIONS } from './migrations.js';
export { getStatus, type Reservation, recordAccepted, reserve } from './status-queries.js';
