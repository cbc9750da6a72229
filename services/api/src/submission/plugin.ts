import { readFileSync } from 'node:fs';
import { addrSpecProblem, customHeaders, domainOf, type EmailRequest, senderAllowed } from '@postline/contracts';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { accept, checkSenders } from '../accept.js';
import type { ApiConfig } from '../config.js';
import { countFailure } from '../plugins/auth.js';
import { preflight } from '../preflight.js';
import type { apiSchemas } from '../schemas.js';
import { budgetedOnData } from '../smtp-budgeted-data.js';
import { connectionLimits } from '../smtp-connection-limit.js';
import { acceptBehindBalancers } from '../smtp-proxy.js';
import { loneSurrogateProblem } from '../unicode-text.js';
import { mapInTurns, valid, validatorCompiler } from '../validation.js';
import { offerAuth, unauthenticated, withholdAuth } from './auth-after-tls.js';
import { keyAuth } from './auth-guard.js';
import { limitCommandsBeforeTls } from './commands-before-tls.js';
import { lazyParser } from './lazy-parser.js';
import { smtpError, toSmtpReply } from './smtp-errors.js';
import { submittedRequest } from './submitted-request.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The port SMTP submission listens on (null: off). */
    submissionPort(): number | null;
  }
}

const isAllowedHeader = (name: string, value: string) => customHeaders.safeParse({ [name]: value }).success;

/**
 * SMTP submission (RFC 6409) in the API process: the same pipeline as POST /v1/emails. AUTH
 * PLAIN/LOGIN with an API key as the password; the 250 comes only after Kafka's acks=all ack; a
 * failure to confirm is a 4xx, so the client keeps the message and retries.
 */
export const submissionPlugin = fp(
  async (app: FastifyInstance, { config, schemas }: { config: ApiConfig; schemas: ReturnType<typeof apiSchemas> }) => {
    let port: number | null = null;
    app.decorate('submissionPort', () => port);
    if (config.SUBMISSION_PORT === 'off') return;
    const checkEmail = validatorCompiler({ schema: schemas.email, httpPart: 'body', method: 'POST', url: 'smtp' });
    const tls =
      config.SUBMISSION_TLS_KEY_FILE && config.SUBMISSION_TLS_CERT_FILE
        ? { key: readFileSync(config.SUBMISSION_TLS_KEY_FILE), cert: readFileSync(config.SUBMISSION_TLS_CERT_FILE) }
        : null;
    if (!tls && !config.usingDevDefaults) app.log.warn('SMTP submission without TLS: API keys cross the network in the clear');

    const parse = lazyParser();

    const submit = async (session: SMTPServerSession, raw: Buffer): Promise<string> => {
      const mail = await parse(raw);
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const submitted = submittedRequest(mail, rcptTo, isAllowedHeader);
      // A header's encoded-word in UTF-16 decodes to a lone surrogate as is; over HTTP the body's
      // parse refuses one (unicode-text.ts). A split's emails differ only in their RCPT TO address.
      const lone = loneSurrogateProblem(submitted.bodies[0]);
      if (lone) throw lone;
      const account = session.user as string;
      const log = app.log.child({ account, submission: session.id });
      if (submitted.dropped.length > 0) log.debug({ dropped: submitted.dropped }, 'submitted headers not passed on');
      const batch = submitted.bodies.length > 1;
      app.emailLimiter.take(
        account,
        preflight(batch ? { emails: submitted.bodies } : submitted.bodies[0], config.limits, batch ? config.MAX_BATCH_SIZE : null),
      );
      // A Bcc-only message is up to MAX_BATCH_SIZE emails: validated one at a time, as a batch is over HTTP.
      const emails = await mapInTurns(submitted.bodies, (body) => valid<EmailRequest>(checkEmail, body));
      checkSenders(emails, config.SENDER_DOMAINS);
      const accepted = await accept(app, { account, log }, emails, { idempotencyKey: submitted.idempotencyKey, batch });
      return accepted.map((a) => a.id).join(' ');
    };

    const server = new SMTPServer({
      name: config.SUBMISSION_HOSTNAME,
      banner: 'postline submission',
      authMethods: ['PLAIN', 'LOGIN'],
      // Without a certificate there is no STARTTLS, and AUTH works in the clear (a warning says so).
      // With one, AUTH only inside TLS (auth-after-tls.ts).
      ...(tls
        ? { key: tls.key, cert: tls.cert, allowInsecureAuth: false, onSecure: offerAuth }
        : { disabledCommands: ['STARTTLS'], allowInsecureAuth: true }),
      size: config.SUBMISSION_MAX_BYTES,
      logger: false,
      ...connectionLimits({
        total: config.SUBMISSION_MAX_CONNECTIONS,
        perIp: config.SUBMISSION_MAX_CONNECTIONS_PER_IP,
        refused: (client) => app.recurring.warn(app.log, { client }, 'submission connection refused: too many from one client'),
        onConnect(session, callback) {
          if (!app.startup.done) return callback(smtpError(421, '4.3.2 Starting (waiting for Kafka or Postgres); try again shortly'));
          if (tls) withholdAuth(session);
          callback();
        },
      }),
      onAuth: keyAuth((key) => app.accountForKey(key), {
        retryAfter: (client) => app.authFailures.retryAfter(client),
        failed: (client) => countFailure(app, app.authFailures, client),
      }),
      onMailFrom(address: SMTPServerAddress, session, callback) {
        const refused = unauthenticated(session);
        if (refused) return callback(refused);
        if (addrSpecProblem(address.address) || !senderAllowed({ address: address.address }, config.SENDER_DOMAINS)) {
          return callback(smtpError(550, `5.7.1 Sender domain not allowed: ${domainOf(address.address) || address.address}`));
        }
        callback();
      },
      onRcptTo(address: SMTPServerAddress, session, callback) {
        const problem = addrSpecProblem(address.address);
        if (problem) return callback(smtpError(553, `5.1.3 Bad recipient address: ${problem}`));
        if (session.envelope.rcptTo.length >= config.limits.maxRecipients) {
          return callback(smtpError(452, `4.5.3 Too many recipients (at most ${config.limits.maxRecipients})`));
        }
        callback();
      },
      // The message holds room in the API's body budget (body-budget.ts) before a byte of it is read.
      onData: budgetedOnData(
        app.bodyBudget,
        config.SUBMISSION_MAX_BYTES,
        (session) => session.user as string,
        {
          busy: () => smtpError(451, '4.3.1 Too much mail in progress; try again shortly'),
          stalled: () => smtpError(451, '4.4.2 The message stopped arriving (timeout); try again'),
          tooBig: () => smtpError(552, `5.3.4 Message too big (at most ${config.SUBMISSION_MAX_BYTES} bytes)`),
        },
        deliver,
      ),
    });
    // Before acceptBehindBalancers, which hands each connection to the handlers registered by then.
    if (tls) limitCommandsBeforeTls(server);
    acceptBehindBalancers(server, config.SUBMISSION_PROXY_FROM);
    server.on('error', (error) => app.log.warn({ err: error }, 'smtp submission connection error'));

    /** Submits one message; `done` gets the SMTP reply. */
    function deliver(message: Buffer, session: SMTPServerSession, done: (error: Error | null, reply?: string) => void): void {
      submit(session, message).then(
        (ids) => done(null, `2.0.0 Ok: queued as ${ids}`),
        (error) => {
          const reply = toSmtpReply(error);
          if (reply.responseCode >= 500) app.log.info({ err: error, code: reply.responseCode }, 'submission refused');
          else app.recurring.warn(app.log, { err: error }, 'submission not confirmed');
          done(reply);
        },
      );
    }

    app.addHook('onReady', async () => {
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(config.SUBMISSION_PORT as number, config.SUBMISSION_HOST ?? config.HOST, () => {
          server.server.off('error', reject);
          resolve();
        });
      });
      const address = server.server.address();
      port = typeof address === 'object' && address ? address.port : null;
      app.log.info({ port }, 'smtp submission listening');
    });
    // Before the producer closes: sessions in progress finish (their 250 waits for the ack).
    app.addHook('preClose', async () => {
      if (port !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
  },
  { name: 'submission', dependencies: ['auth'] },
);
