import { finished, type Readable, Transform } from 'node:stream';

/** How long a request body that holds room may go without a byte before it is given up. */
export const BODY_IDLE_MS = 10_000;

/** The smallest body (declared, or chunked: BODY_LIMIT_BYTES) watched for BODY_IDLE_MS. */
export const WATCHED_FROM_BYTES = 64 * 1024;

/**
 * How long a request may take to arrive: over HTTP, headers and body (Node's `requestTimeout`,
 * checked every REQUEST_CHECK_MS, so a request is cut between the two); over SMTP (submission and
 * the bounce listener), a message from its DATA command on.
 */
export const REQUEST_TIMEOUT_MS = 60_000;
export const REQUEST_CHECK_MS = 5_000;

/**
 * Calls `expire` once `idleMs` pass without a `touch()`, or `deadlineMs` after it was started,
 * whichever comes first, unless stopped.
 *
 * Why: a body holds room in the BodyBudget from before its first byte until it is answered. A
 * client that stalls mid-upload — a hung process, a network partition, a NAT or proxy that dropped
 * the connection without a word — sends nothing more and never closes, and its room was held for
 * as long as the process ran: six stalled chunked requests (each holds BODY_LIMIT_BYTES) refused
 * every request with a body from then on. A stall now costs the others at most `idleMs`, and a
 * client that trickles a byte now and then holds its room at most `deadlineMs`.
 */
export class BodyTimer {
  private readonly idle: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout | undefined;
  private holding = false;

  constructor(idleMs: number, deadlineMs: number | undefined, expire: () => void) {
    const fire = () => {
      this.stop();
      expire();
    };
    // While held (waiting on us, not on the client), idleness does not count.
    this.idle = setTimeout(() => (this.holding ? this.idle.refresh() : fire()), idleMs);
    this.deadline = deadlineMs === undefined ? undefined : setTimeout(fire, deadlineMs);
  }

  touch(): void {
    this.idle.refresh();
  }

  /** Suspends (true) or resumes (false) the idle bound; the deadline runs on. */
  hold(holding: boolean): void {
    this.holding = holding;
    if (!holding) this.idle.refresh();
  }

  stop(): void {
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
  }
}

/**
 * An HTTP request body as a stream that fails with `timeout()` once `idleMs` pass without a byte
 * (the whole request's deadline is Node's REQUEST_TIMEOUT_MS). `onTimeout` runs first, to give the
 * room back and close the connection; fastify then answers with the error. The source is
 * unpiped, not destroyed: destroying it would close the socket before the answer is written.
 */
export function watchBody(payload: Readable, idleMs: number, timeout: () => Error, onTimeout: () => void): Readable {
  const timer = new BodyTimer(idleMs, undefined, () => {
    payload.unpipe(watched);
    onTimeout();
    watched.destroy(timeout());
  });
  const watched = new Transform({
    transform(chunk, _encoding, done) {
      timer.touch();
      done(null, chunk);
    },
    flush(done) {
      timer.stop();
      done();
    },
  });
  // A client that goes away mid-body ends the wait too (pipe forwards neither errors nor a premature close).
  finished(payload, (error) => {
    if (!error) return;
    timer.stop();
    watched.destroy(error);
  });
  watched.once('close', () => timer.stop());
  return payload.pipe(watched);
}
