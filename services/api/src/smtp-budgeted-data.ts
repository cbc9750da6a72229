import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { BODY_WAIT_MS, type BodyBudget } from './body-budget.js';
import { BODY_IDLE_MS, BodyTimer, REQUEST_TIMEOUT_MS } from './body-watch.js';

type SmtpReply = (error: Error | null, message?: string) => void;

/** Room is taken in blocks of this as a message arrives. */
export const SMTP_ROOM_BLOCK = 64 * 1024;

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
 * An smtp-server `onData` that reads a message into the body budget and hands it whole to
 * `deliver`. Room is taken as the bytes arrive, a block of SMTP_ROOM_BLOCK at a time, and the
 * stream waits for each block before more is read (smtp-server honours that backpressure, so the
 * bytes stay in the socket). Why not reserve the message's SIZE (or `limit`) up front, as HTTP
 * does its Content-Length: on the bounce listener anyone on the internet can connect, and two
 * senders that declared 10 MiB and then sent a byte now and then held all of its room. Now a
 * sender holds room for what it has sent, a block at most beyond it.
 *
 * The room is given back once `deliver` has answered; when the client goes away mid-message
 * (smtp-server then destroys the stream, which never ends); when a block does not fit within
 * BODY_WAIT_MS (`busy()`), or the message stops arriving (`stalled()`, body-watch.ts). In those
 * two cases the rest is read and dropped, never held, and the answer comes at the end of DATA.
 */
export function budgetedOnData(
  budget: BodyBudget,
  limit: number,
  /** Whose share of the budget a message counts against (BodyBudget: an account, a client address). */
  ownerOf: (session: SMTPServerSession) => string,
  replies: UndeliveredReplies,
  deliver: (message: Buffer, session: SMTPServerSession, done: SmtpReply) => void,
): (stream: SMTPServerDataStream, session: SMTPServerSession, callback: SmtpReply) => void {
  return (stream, session, callback) => {
    const owner = ownerOf(session);
    const releases: (() => void)[] = [];
    let held = 0;
    let bytes = 0;
    let chunks: Buffer[] = [];
    let failure: Error | undefined;
    let over = false;
    const giveBack = () => {
      for (const release of releases.splice(0)) release();
      held = 0;
    };
    const fail = (error: Error) => {
      if (failure || over) return;
      failure = error;
      chunks = [];
      giveBack();
      timer.hold(false);
      stream.resume();
    };
    const timer = new BodyTimer(BODY_IDLE_MS, REQUEST_TIMEOUT_MS, () => fail(replies.stalled()));

    stream.on('data', (chunk: Buffer) => {
      timer.touch();
      bytes += chunk.length;
      if (failure || over) return;
      if (bytes > limit) {
        // Too big (smtp-server says so too, in sizeExceeded): nothing more is kept.
        over = true;
        chunks = [];
        giveBack();
        return;
      }
      chunks.push(chunk);
      if (bytes <= held) return;
      const want = Math.min(Math.max(SMTP_ROOM_BLOCK, bytes - held), limit - held);
      stream.pause();
      timer.hold(true);
      void budget.acquire(want, BODY_WAIT_MS, owner).then((release) => {
        if (!release) return fail(replies.busy());
        // The message failed or its client left while this waited.
        if (failure || over || stream.destroyed) return release();
        releases.push(release);
        held += want;
        timer.hold(false);
        stream.resume();
      });
    });
    stream.once('end', () => {
      timer.stop();
      const refusal = failure ?? (over || stream.sizeExceeded ? replies.tooBig() : undefined);
      if (refusal) {
        giveBack();
        return callback(refusal);
      }
      deliver(Buffer.concat(chunks), session, (error, message) => {
        giveBack();
        callback(error, message);
      });
    });
    stream.once('close', () => {
      timer.stop();
      if (!stream.readableEnded) giveBack();
    });
  };
}
