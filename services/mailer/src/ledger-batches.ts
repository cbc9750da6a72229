import { type Claim, type ClaimRequest, claimMany, type OutcomeRecord, recordOutcomes } from '@postline/ledger';
import { ResultBatcher } from '@postline/runtime';
import type pg from 'pg';

/** The statements below need distinct ids (the handler never has one email in flight twice). */
const distinctIds = (requests: { id: string }[]) => new Set(requests.map((r) => r.id)).size === requests.length;

/**
 * Postgres' CPU is per statement more than per email (bench/ledger-path.mjs, 2026-12-03: 830 µs an
 * email at one a statement, 400 at two, 150 at eight; outcomes eight a statement with claims two:
 * 440 → 265 µs). At G4's bulk rate an outcome statement met 2 emails; with this wait, counted from
 * the oldest outcome queued, the mailer's bulk rate rose 9 % and 21 % in two interleaved runs
 * (BENCH_ONLY=mailer-ab, 4 rounds each), with G5 at 100/s unchanged; 10 ms measured no better.
 */
export const OUTCOME_LINGER_MS = 5;

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
    // An outcome waits up to OUTCOME_LINGER_MS for company: the message is out by then, so only its
    // offset and its send slot wait (a claim's wait would delay the message itself).
    const outcomes = { ...options, lingerMs: OUTCOME_LINGER_MS, busyLingerMs: OUTCOME_LINGER_MS };
    this.outcomes = new ResultBatcher<OutcomeRecord, boolean>((records) => recordOutcomes(db, mailerId, records), outcomes, distinctIds);
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
