import { ENVELOPE_HEADERS, type Envelope } from '@postline/contracts';
import { reopenFailed } from '@postline/ledger';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import type { DeadLetter } from './dead-letters.js';

export interface RedriveResult {
  matched: number;
  /** Put back on the requests topic. */
  redriven: number;
  /** Already final in the ledger (sent by an earlier redrive, suppressed, canceled): not put back. */
  alreadyFinal: number;
  /** Not a readable envelope: cannot be redriven. */
  unreadable: number;
  dryRun: boolean;
}

/**
 * Puts dead-lettered emails back on the requests topic, batch by batch: first the ledger turns
 * `failed` into `queued` (final states stay final), then the records are produced (acks=all)
 * with their id (so the ledger still dedupes them). The ledger's reopen gives each a fresh
 * attempt budget (redriven_attempts) while its attempts counter keeps counting. Interrupted and run again, it sends nothing twice:
 * an email sent since is final and skipped, and a second record of a queued one is deduped by
 * the mailer's claim.
 */
export async function redrive(
  letters: DeadLetter[],
  deps: { db: pg.Pool; producer: Producer; topic: string; batchSize: number; dryRun: boolean; progress(done: number, total: number): void },
): Promise<RedriveResult> {
  const readable = new Map<string, { letter: DeadLetter; envelope: Envelope }>();
  // The last dead letter of each email (an email can be dead-lettered again after a redrive).
  for (const letter of letters) if (letter.envelope) readable.set(letter.envelope.id, { letter, envelope: letter.envelope });
  const result: RedriveResult = {
    matched: letters.length,
    redriven: 0,
    alreadyFinal: 0,
    unreadable: letters.filter((l) => !l.envelope).length,
    dryRun: deps.dryRun,
  };
  const all = [...readable.values()];
  for (let i = 0; i < all.length; i += deps.batchSize) {
    const batch = all.slice(i, i + deps.batchSize);
    const ids = batch.map((b) => b.envelope.id);
    const states = deps.dryRun ? await currentStates(deps.db, ids) : await reopenFailed(deps.db, ids);
    const due = batch.filter((b) => !['sent', 'suppressed', 'canceled'].includes(states.get(b.envelope.id) ?? 'queued'));
    result.alreadyFinal += batch.length - due.length;
    if (!deps.dryRun && due.length > 0) {
      await deps.producer.send({
        topic: deps.topic,
        acks: -1,
        messages: due.map(({ letter, envelope }) => {
          const { notBefore: _due, ...rest } = envelope;
          return {
            key: envelope.id,
            value: JSON.stringify({ ...rest, attempt: 0 }),
            headers: { ...ENVELOPE_HEADERS, 'redriven-from': letter.position },
          };
        }),
      });
    }
    result.redriven += due.length;
    deps.progress(Math.min(i + deps.batchSize, all.length), all.length);
  }
  return result;
}

async function currentStates(db: pg.Pool, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; state: string }>('select id, state from emails where id = any($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.state]));
}
