/**
 * A row limit written into a statement's text instead of bound as `$n`. The ledger's sessions
 * plan every statement generically (createLedgerPool), and a generic plan does not know the
 * limit: Postgres guesses a tenth of the table. Joined to an update or a delete, that guess
 * planned a hash join over every candidate row (takeDue read 20,000 rows to take 8, and took
 * 70 ms a poll against 130,000). A literal limit is planned as what it is. Checked here, since
 * it becomes SQL: a whole number, nothing else.
 */
export function sqlLimit(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a row limit must be a whole number, not ${n}`);
  return `limit ${n}`;
}
