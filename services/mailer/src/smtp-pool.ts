import { EABORT, ECONNECTION, EENVELOPE, EMESSAGE, isTransientError } from 'nodemailer/lib/errors';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { type DataProbe, MessageSource } from './message-source.js';

export interface SmtpPoolOptions {
  /** nodemailer's connection options (host, port, secure, tls, timeouts, logger), from its URL. */
  connection: SMTPConnection.Options;
  auth?: { user: string; pass: string } | undefined;
  size: number;
  /** An idle connection says QUIT after this long. */
  idleMs: number;
}

interface Member {
  conn: SMTPConnection;
  sent: number;
  idle?: NodeJS.Timeout | undefined;
}

interface Waiter {
  give(member: Member): void;
  fail(error: Error): void;
}

/** The error nodemailer's pool gave an aborted send (EABORT, no command): the same meaning here. */
const aborted = () => Object.assign(new Error('Message sending aborted'), { name: 'AbortError', code: EABORT });
const closedError = () => Object.assign(new Error('Connection pool was closed'), { code: ECONNECTION });

/**
 * A pool of nodemailer's SMTPConnection, one message at a time on each, in place of nodemailer's
 * Mailer and pool: their MIME node for a raw message, its stream stages and plugin hooks cost about
 * as much CPU as the SMTP conversation itself (bench/smtp-path.mjs). What their pool did for us is
 * here: connections opened on demand up to `size` and reused, QUIT when idle, RSET after a refused
 * message, a fresh connection for a message whose reused one turned out dead before DATA, and a
 * deadline (the signal) over the wait for a connection, the connect and the conversation.
 */
export class SmtpPool {
  private readonly members = new Set<Member>();
  private readonly idle: Member[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(private readonly options: SmtpPoolOptions) {}

  async send(
    envelope: SMTPConnection.Envelope,
    raw: Buffer,
    signal: AbortSignal,
    probe: DataProbe,
  ): Promise<SMTPConnection.SentMessageInfo> {
    // Each reused connection found dead is dropped and the next one tried; a fresh one is final.
    for (let tries = 0; ; tries++) {
      const member = await this.acquire(signal);
      const reused = member.sent > 0;
      member.sent++;
      try {
        const info = await this.sendOn(member, envelope, raw, signal, probe);
        this.release(member);
        return info;
      } catch (error) {
        const e = error as SMTPConnection.SMTPError;
        if (signal.aborted) {
          member.conn.close();
          throw error;
        }
        // nodemailer's own test for an error that ended the connection (421, a drop, a timeout).
        const dead = isTransientError(e);
        const refused = (e.code === EENVELOPE || e.code === EMESSAGE) && !dead && !member.conn.destroyed;
        if (refused) this.resetThenRelease(member);
        else member.conn.close();
        // Not a byte of it went out over a connection the server had closed while idle.
        if (reused && dead && !probe.dataBegan && tries <= this.options.size) continue;
        throw error;
      }
    }
  }

  /** Connects (and logs in) once, then says QUIT: whether this server takes us (its timeouts bound it). */
  async verify(): Promise<boolean> {
    return this.connect(NEVER).then(
      (member) => {
        member.conn.quit();
        return true;
      },
      () => false,
    );
  }

  /** Idle connections QUIT now, busy ones after their message; waiting sends fail. */
  close(): void {
    this.closed = true;
    for (const member of this.idle.splice(0)) this.quit(member);
    for (const waiter of this.waiters.splice(0)) waiter.fail(closedError());
  }

  private acquire(signal: AbortSignal): Promise<Member> {
    if (signal.aborted) return Promise.reject(aborted());
    if (this.closed) return Promise.reject(closedError());
    const member = this.idle.pop();
    if (member) {
      clearTimeout(member.idle);
      return Promise.resolve(member);
    }
    if (this.members.size < this.options.size) return this.connect(signal);
    return new Promise<Member>((resolve, reject) => {
      let waiting = true;
      const done = () => {
        waiting = false;
        signal.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        // A connection handed over after the deadline passed goes on to the next send.
        give: (m) => {
          if (!waiting) return this.release(m);
          done();
          resolve(m);
        },
        fail: (error) => {
          if (!waiting) return;
          done();
          reject(error);
        },
      };
      const onAbort = () => {
        done();
        without(this.waiters, waiter);
        reject(aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A new connection, counted in the pool from the start; it leaves the pool when it ends. */
  private connect(signal: AbortSignal): Promise<Member> {
    const conn = new SMTPConnection(this.options.connection);
    const member: Member = { conn, sent: 0 };
    this.members.add(member);
    conn.once('end', () => this.gone(member));
    return new Promise<Member>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | null) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (!error) return resolve(member);
        conn.close();
        reject(error);
      };
      const onAbort = () => settle(aborted());
      signal.addEventListener('abort', onAbort, { once: true });
      // Always listened to: an 'error' without a listener would throw. A send's own error also
      // reaches its callback; one on an idle connection is followed by its 'end'.
      conn.on('error', (error: Error) => settle(error));
      conn.connect((error) => {
        if (error) return settle(error);
        const { auth } = this.options;
        if (!auth || !conn.allowsAuth) return settle(null);
        conn.login({ user: auth.user, credentials: auth }, (loginError) => settle(loginError ?? null));
      });
    });
  }

  private sendOn(member: Member, envelope: SMTPConnection.Envelope, raw: Buffer, signal: AbortSignal, probe: DataProbe) {
    return new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
      if (signal.aborted) return reject(aborted());
      // The deadline closes the connection mid-conversation; SMTPConnection then drops the send
      // without calling back, so it is settled here.
      const onAbort = () => {
        member.conn.close();
        reject(aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      member.conn.send({ ...envelope }, new MessageSource(raw, probe), (error, info) => {
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(info);
      });
    });
  }

  private release(member: Member): void {
    if (member.conn.destroyed) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.give(member);
    else if (this.closed) this.quit(member);
    else this.idleUntilQuit(member);
  }

  private idleUntilQuit(member: Member): void {
    member.idle = setTimeout(() => {
      without(this.idle, member);
      this.quit(member);
    }, this.options.idleMs).unref();
    this.idle.push(member);
  }

  private resetThenRelease(member: Member): void {
    member.conn.reset((error) => (error ? member.conn.close() : this.release(member)));
  }

  private quit(member: Member): void {
    clearTimeout(member.idle);
    member.conn.quit();
  }

  /** A connection ended (closed by us or by the server): its slot goes to the next waiting send. */
  private gone(member: Member): void {
    clearTimeout(member.idle);
    this.members.delete(member);
    without(this.idle, member);
    const waiter = this.waiters.shift();
    if (waiter) this.connect(NEVER).then(waiter.give, waiter.fail);
  }
}

function without<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}

/**
 * For a connection tied to no send's deadline (one opened for a waiter, whose own signal is
 * watched while it waits, or verify()'s): SMTP_TIMEOUT_MS bounds each of its phases.
 */
const NEVER = new AbortController().signal;
