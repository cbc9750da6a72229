import { type Claim, type ClaimRequest, claimMany, type OutcomeRecord, recordOutcomes } from '@postline/ledger';
import { MicroBatcher } from '@postline/runtime';
import type pg from 'pg';

interface Slot<T, R> {
  request: T;
  result?: R;
  error?: unknown;
}

/**
 * The claims and the outcomes of the emails in flight at once, one statement each: while one
 * statement runs, the next ones gather (as the API's row inserts do). Each email is still claimed
 * and recorded on its own terms (claimMany, recordOutcomes); what they share is the round trip and
 * the commit, which were the mailer's largest ledger cost. Measured before: two autocommitted
 * statements per email, each a WAL flush, with up to 24 emails in flight.
 */
export class LedgerBatches {
  private readonly claims: MicroBatcher<Slot<ClaimRequest, Claim>>;
  private readonly outcomes: MicroBatcher<Slot<OutcomeRecord, boolean>>;

  constructor(db: pg.Pool, mailerId: string, claimTtlMs: number, timeoutMs: number) {
    // One statement in flight: with two, emails at a few hundred a second rarely met a third and
    // went almost one per statement (counted: 1.5 emails a claim statement).
    const options = { lingerMs: 0, maxBatch: 200, maxInFlight: 1, timeoutMs };
    this.claims = new MicroBatcher((slots) => settle(slots, (requests) => claimMany(db, mailerId, claimTtlMs, requests)), options);
    this.outcomes = new MicroBatcher((slots) => settle(slots, (records) => recordOutcomes(db, mailerId, records)), options);
  }

  claim(request: ClaimRequest): Promise<Claim> {
    return this.one(this.claims, request);
  }

  /** False: the claim was no longer ours and nothing was written. */
  record(record: OutcomeRecord): Promise<boolean> {
    return this.one(this.outcomes, record);
  }

  async drain(): Promise<void> {
    await Promise.all([this.claims.drain(), this.outcomes.drain()]);
  }

  private async one<T, R>(batcher: MicroBatcher<Slot<T, R>>, request: T): Promise<R> {
    const slot: Slot<T, R> = { request };
    await batcher.enqueue([slot]);
    if ('error' in slot) throw slot.error;
    return slot.result as R;
  }
}

/**
 * Runs one statement for the slots and gives each its result. If it fails, each email is tried
 * alone: one email's data must never hold up the others (during a ledger outage they all fail
 * again, fast). Ids are distinct in practice (the handler never has one email in flight twice);
 * if they are not, each goes alone too.
 */
async function settle<T extends { id: string }, R>(slots: Slot<T, R>[], many: (requests: T[]) => Promise<R[]>): Promise<void> {
  const distinct = new Set(slots.map((s) => s.request.id)).size === slots.length;
  if (distinct) {
    try {
      const results = await many(slots.map((s) => s.request));
      slots.forEach((s, i) => {
        s.result = results[i];
      });
      return;
    } catch (error) {
      if (slots.length === 1) {
        (slots[0] as Slot<T, R>).error = error;
        return;
      }
    }
  }
  await Promise.all(
    slots.map(async (s) => {
      try {
        [s.result] = await many([s.request]);
      } catch (error) {
        s.error = error;
      }
    }),
  );
}
