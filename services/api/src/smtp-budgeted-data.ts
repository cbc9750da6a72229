import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { BODY_WAIT_MS, type BodyBudget } from './body-budget.js';
import { BODY_IDLE_MS, BodyTimer, REQUEST_TIMEOUT_MS } from './body-watch.js';

type SmtpReply = (error: Error | null, message?: string) => void;

/** The answers to a message that is not delivered: each an SMTP error (smtpError). */
export interface UndeliveredReplies {
  /** No room within BODY_WAIT_MS (a 4xx: the client keeps the message and retries). */
  busy(): Error;
  /** It stopped arriving (BODY_IDLE_MS without a byte, or not whole within REQUEST_TIMEOUT_MS): a 4xx. */
  stalled(): Error;
  /** Over `limit` bytes. */
  tooBig(): Error;
}

/**
 * An smtp-server `onData` that holds room for each message before a byte of it is read — its
 * SIZE from MAIL FROM if the client gave one (RFC 1870), else `limit` — reads it, and hands the
 * whole message to `deliver`. The room is given back once `deliver` has answered; when the client
 * goes away mid-message (smtp-server then destroys the stream, which never ends); or when the
 * message stops arriving (body-watch.ts), whose bytes are then read and dropped, never held, and
 * answered `stalled()` if the client ever ends it. No room within BODY_WAIT_MS: the data is read
 * and dropped the same way and `busy()` answers.
 */
export function budgetedOnData(
  budget: BodyBudget,
  limit: number,
  replies: UndeliveredReplies,
  deliver: (message: Buffer, session: SMTPServerSession, done: SmtpReply) => void,
): (stream: SMTPServerDataStream, session: SMTPServerSession, callback: SmtpReply) => void {
  return (stream, session, callback) => {
    const { mailFrom } = session.envelope as { mailFrom: { args?: Record<string, string> } | false };
    const declared = Number(mailFrom ? mailFrom.args?.SIZE : undefined);
    void budget.acquire(declared > 0 ? Math.min(declared, limit) : limit, BODY_WAIT_MS).then((release) => {
      if (!release) {
        stream.resume();
        stream.on('end', () => callback(replies.busy()));
        return;
      }
      let chunks: Buffer[] = [];
      let failure: Error | undefined;
      const timer = new BodyTimer(BODY_IDLE_MS, REQUEST_TIMEOUT_MS, () => {
        failure = replies.stalled();
        chunks = [];
        release();
      });
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        timer.touch();
        bytes += chunk.length;
        // smtp-server stops at its `size` and says so (sizeExceeded); the count is the bound here.
        if (!failure && bytes <= limit) chunks.push(chunk);
      });
      let ended = false;
      stream.once('end', () => {
        ended = true;
        timer.stop();
        const refusal = failure ?? (stream.sizeExceeded || bytes > limit ? replies.tooBig() : undefined);
        if (refusal) {
          release();
          return callback(refusal);
        }
        deliver(Buffer.concat(chunks), session, (error, message) => {
          release();
          callback(error, message);
        });
      });
      stream.once('close', () => {
        timer.stop();
        if (!ended) release();
      });
    });
  };
}
