import { type Claim, type ClaimRequest, claimMany, type OutcomeRecord, recordOutcomes } from '@postline/ledger';
import { ResultBatcher } from '@postline/runtime';
import type pg from 'pg';

/** The statements below need distinct ids (the handler never has one email in flight twice). */
const distinctIds = (requests: { id: string }[]) => new Set(requests.map((r) => r.id)).size === requests.length;

/**
 * The claims and the outcomes of the emails in flight at once, one statement each: while one
 * statement runs, the next ones gather (as the API's row inserts do). Each email is still claimed
 * and recorded on its own terms (claimMany, recordOutcomes); what they share is the round trip and
 * the commit, which were the mailer's largest ledger cost. Measured before: two autocommitted
 * statements per email, each a WAL flush, with up to 24 emails in flight. A failing statement is
 * retried email by email (ResultBatcher).
 */
export class LedgerBatches {
  private readonly claims: ResultBatcher<ClaimRequest, Claim>;
  private readonly outcomes: ResultBatcher<OutcomeRecord, boolean>;

  constructor(db: pg.Pool, mailerId: string, claimTtlMs: number, timeoutMs: number) {
    // One statement in flight: with two, emails at a few hundred a second rarely met a third and
    // went almost one per statement (counted: 1.5 emails a claim statement).
    const options = { lingerMs: 0, maxBatch: 200, maxInFlight: 1, timeoutMs };
    this.claims = new ResultBatcher<ClaimRequest, Claim>((requests) => claimMany(db, mailerId, claimTtlMs, requests), options, distinctIds);
    this.outcomes = new ResultBatcher<OutcomeRecord, boolean>((records) => recordOutcomes(db, mailerId, records), options, distinctIds);
  }

  claim(request: ClaimRequest): Promise<Claim> {
    return this.claims.run(request);
  }

  /** False: the claim was no longer ours and nothing was written. */
  record(record: OutcomeRecord): Promise<boolean> {
    return this.outcomes.run(record);
  }

  async drain(): Promise<void> {
    await Promise.all([this.claims.drain(), this.outcomes.drain()]);
  }
}
