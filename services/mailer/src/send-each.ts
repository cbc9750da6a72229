import { isRetryable } from './partial-delivery.js';
import type { Refusal, SmtpOutcome } from './smtp-outcome.js';

/**
 * One SMTP transaction per recipient, in turn, and what they came to as one outcome. With a bounce
 * domain, each recipient's copy has a Return-Path of its own (a VERP tag: contracts' verpTag()),
 * so a bounce or a complaint to it speaks for that recipient alone: with one Return-Path for all,
 * any recipient could report another as bounced and have it suppressed. The message's bytes,
 * its Message-ID and its headers (To and Cc list everyone) are the same in every copy.
 *
 * - A refusal at RCPT TO is about that recipient: the next one is tried.
 * - Anything else (the connection, a 421, a reply to DATA, the deadline) is about the transaction
 *   or the server: nothing more is tried. With a recipient already accepted, the outcome is
 *   `sent`: this recipient is a refusal with its reply (retried unless a 5xx), those after it
 *   refusals without one (retried: partial-delivery.ts); `uncertain` names the one whose copy may
 *   have arrived. With none accepted, the outcome is that failure's, for the whole email
 *   (failover, retry, or release, as for one transaction).
 * - None accepted and every recipient refused at RCPT: a 4xx among them makes it `transient`
 *   (all are retried), else `permanent`.
 */
export async function sendEach(recipients: string[], send: (recipient: string) => Promise<SmtpOutcome>): Promise<SmtpOutcome> {
  const accepted: string[] = [];
  const refusals: Refusal[] = [];
  let response = '';
  for (const [i, recipient] of recipients.entries()) {
    const outcome = await send(recipient);
    if (outcome.kind === 'sent') {
      accepted.push(...outcome.accepted);
      refusals.push(...outcome.refusals);
      response = outcome.response;
      continue;
    }
    if ((outcome.kind === 'transient' || outcome.kind === 'permanent') && outcome.refusals?.length) {
      refusals.push(...outcome.refusals);
      continue;
    }
    if (accepted.length === 0) return outcome;
    // This recipient's own reply (a 5xx to its DATA refuses it for good); those after it were not tried.
    const reply = outcome.kind === 'transient' || outcome.kind === 'permanent' ? outcome.response : null;
    const left = recipients.slice(i + 1).map((r) => ({ recipient: r, response: null }));
    const uncertain = outcome.kind === 'uncertain' ? { uncertain: [recipient] } : {};
    return { kind: 'sent', response, accepted, refusals: [...refusals, { recipient, response: reply }, ...left], ...uncertain };
  }
  if (accepted.length > 0) return { kind: 'sent', response, accepted, refusals };
  const error = 'every recipient was refused';
  const soft = refusals.find(isRetryable);
  if (soft) return { kind: 'transient', error, response: soft.response, refusals, beforeData: true };
  return { kind: 'permanent', error, response: refusals.at(-1)?.response ?? null, refusals };
}
