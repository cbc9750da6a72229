import { monitorEventLoopDelay } from 'node:perf_hooks';
import { topicOffsets } from '@postline/runtime';
import type { Test } from 'tap';
import { freePort } from '../../packages/stack/src/ports.js';
import { loadConfig } from '../../services/mailer/src/config.js';
import { AUTH, apiEnv } from '../helpers/api.js';
import { answers, sleep } from '../helpers/env.js';
import { readTopic, testKafka } from '../helpers/kafka.js';
import { createTopics, eventually, ledgerPool, ledgerRows, MESSAGE_ID_DOMAIN, mailerEnv, TEST_TIMINGS } from '../helpers/mailer.js';
import { type ServiceProcess, spawnService } from '../helpers/processes-mailer.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

export interface Summary {
  scenario: string;
  accepted: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** Every duplicate carried its original's Message-ID. */
  duplicatesKeptMessageId: boolean;
  fiveXX: number;
  ledgerSent: number;
  /** The longest this test process's event loop was blocked (ms): the recording SMTP server runs in it. */
  testLoopMaxMs: number;
  recoverMs?: number;
}

interface LoadResult {
  /** Resolves when `total` requests have been answered (never, without a total, until stopped). */
  finished: Promise<void>;
  /** Stops issuing requests now and waits for those in flight. */
  stop(): Promise<void>;
  /** Emails answered 202 per `windowMs` window, from the start of the load. */
  timeline: number[];
}

/**
 * The whole system as separate processes: the API, N mailers, against the test run's Kafka
 * and Postgres and a recording SMTP server; plus an HTTP load driver and the reconciliation.
 */
export class System {
  readonly accepted = new Map<string, string>(); // subject → id
  readonly outcomes = new Map<string, number>();
  readonly mailers: ServiceProcess[] = [];
  /** Each mailer's metrics/health port, in the order of `mailers`. */
  readonly mailerPorts: number[] = [];
  readonly dispatchers: ServiceProcess[] = [];
  api!: ServiceProcess;
  apiUrl = '';
  private counter = 0;
  /**
   * This process's own event-loop delay. The SMTP server the mailers send to runs here: a
   * blocked loop is a server that does not answer, and past the mailer's SMTP timeout its sends
   * time out and are resent as uncertain. CI once failed that way because of a quadratic poll
   * in reconcile(), which read as a mailer bug; reconcile() now fails with the stall as the cause.
   */
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });

  private constructor(
    private readonly t: Test,
    readonly sink: SmtpSink,
    readonly apiEnv: Record<string, string>,
    readonly mailerEnv: Record<string, string>,
  ) {}

  static async start(
    t: Test,
    options: {
      mailers?: number;
      api?: Record<string, string>;
      mailer?: Record<string, string>;
      /**
       * Mailers with TEST_TIMINGS instead of the production defaults: only for a scenario that
       * waits out a dead member's session or an expired claim, saying why (TEST_TIMINGS' comment).
       * Every other scenario runs on the defaults: the shortened SMTP and send timeouts made a
       * loaded host's stall of a few seconds an uncertain send, resent (CI saw e2e 10 do it).
       */
      testTimings?: boolean;
      /** SMTP_RELAYS instead of SMTP_URL, given the recording server's URL (one of the relays, or none). */
      relays?: (sinkUrl: string) => string;
      /** The API creates the topics as it boots (as in production), not the test beforehand. */
      servicesCreateTopics?: boolean;
    } = {},
  ): Promise<System> {
    const sink = await new SmtpSink().start();
    t.teardown(() => sink.stop());
    // Whatever the scenario, everything that reached the SMTP server met the sender allowlist and
    // the recipient cap, as the server itself recorded the session.
    // (A teardown cannot assert in tap; an error thrown here fails the scenario.)
    t.teardown(() => {
      if (sink.violations.length > 0) {
        throw new Error(`the SMTP server received mail that breaks the sending policy: ${sink.violations.slice(0, 5).join('; ')}`);
      }
    });
    const api = apiEnv({ RATE_LIMIT_PER_MINUTE: '100000000', LOG_LEVEL: 'warn', ...options.api });
    const topics = {
      EMAILS_TOPIC: api.EMAILS_TOPIC!,
      RETRY_TOPIC: api.RETRY_TOPIC!,
      DEAD_LETTER_TOPIC: api.DEAD_LETTER_TOPIC!,
      EVENTS_TOPIC: api.EVENTS_TOPIC!,
    };
    const mailer = mailerEnv(sink.url, { ...topics, LOG_LEVEL: 'warn', ...options.mailer });
    if (!options.testTimings) for (const key of Object.keys(TEST_TIMINGS)) delete mailer[key];
    if (options.relays) {
      // Empty is unset (parseEnv): the test run's own SMTP_URL, in process.env, must not reach the mailer.
      mailer.SMTP_URL = '';
      mailer.SMTP_RELAYS = options.relays(sink.url);
    }
    if (!options.servicesCreateTopics) await createTopics(mailer);
    const system = new System(t, sink, api, mailer);
    system.loop.enable();
    t.teardown(() => system.loop.disable());
    await system.startApi();
    await Promise.all(Array.from({ length: options.mailers ?? 1 }, () => system.startMailer()));
    return system;
  }

  async startApi(timeoutMs = 30_000): Promise<void> {
    await this.spawnApi();
    const up = await eventually(() => answers(`${this.apiUrl}/readyz`), timeoutMs, 100);
    if (!up) throw new Error(`API did not become ready: ${this.api.output()}`);
  }

  /** Starts the API process without waiting for it to be ready. */
  async spawnApi(): Promise<ServiceProcess> {
    const port = await freePort();
    this.api = spawnService(this.t, 'api', { ...this.apiEnv, PORT: String(port) });
    this.apiUrl = `http://127.0.0.1:${port}`;
    return this.api;
  }

  /** Starts a mailer process (`env` over the system's) and waits until it has joined the group (its /readyz). */
  async startMailer(timeoutMs = 60_000, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const mailer = await this.spawnMailer(env);
    const port = this.mailerPorts[this.mailers.indexOf(mailer)];
    const up = await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), timeoutMs, 100);
    if (!up) throw new Error(`mailer did not become ready: ${mailer.output().slice(-2000)}`);
    return mailer;
  }

  /** Starts a mailer process without waiting for anything (as an orchestrator restarts one). */
  async spawnMailer(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = await freePort();
    const mailer = spawnService(this.t, 'mailer', { ...this.mailerEnv, METRICS_PORT: String(port), ...env });
    this.mailers.push(mailer);
    this.mailerPorts.push(port);
    return mailer;
  }

  /** Starts a webhook dispatcher on this system's events topic and waits until it has joined its group. */
  async startWebhooks(env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ServiceProcess> {
    const { dispatcher, port } = await this.spawnWebhooks(env);
    const up = await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), timeoutMs, 100);
    if (!up) throw new Error(`webhook dispatcher did not become ready: ${dispatcher.output().slice(-2000)}`);
    return dispatcher;
  }

  /** Starts a webhook dispatcher without waiting for anything (as an orchestrator restarts one). */
  async spawnWebhooks(env: Record<string, string> = {}): Promise<{ dispatcher: ServiceProcess; port: number }> {
    const port = await freePort();
    const dispatcher = spawnService(this.t, 'webhooks', {
      KAFKA_BROKERS: this.mailerEnv.KAFKA_BROKERS!,
      DATABASE_URL: this.mailerEnv.DATABASE_URL!,
      EVENTS_TOPIC: this.mailerEnv.EVENTS_TOPIC!,
      EVENTS_PARTITIONS: this.mailerEnv.EVENTS_PARTITIONS!,
      WEBHOOK_CONSUMER_GROUP: `${this.mailerEnv.CONSUMER_GROUP}.webhooks`,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      METRICS_PORT: String(port),
      ...env,
    });
    this.dispatchers.push(dispatcher);
    return { dispatcher, port };
  }

  /** When the SMTP server first accepted a message after `since` (null: none yet). */
  firstDeliveryAfter(since: number): number | null {
    return this.sink.received.find((r) => r.at >= since)?.at ?? null;
  }

  /** POSTs one email; returns the status (or 0 on a connection error). */
  /** The answers other than `allowed` so far, with their counts (a fault scenario's "only 202 or 503"). */
  unexpectedOutcomes(...allowed: string[]): Record<string, number> {
    return Object.fromEntries([...this.outcomes].filter(([k]) => !allowed.includes(k)));
  }

  /** Sends one email at a time until one is accepted, for at most 60 s; how long that took, or null. */
  async acceptedWithin60s(): Promise<number | null> {
    const since = Date.now();
    while (Date.now() - since < 60_000) {
      if ((await this.send()).status === 202) return Date.now() - since;
      await sleep(250);
    }
    return null;
  }

  async send(headers: Record<string, string> = {}, subject = `e2e-${++this.counter}`): Promise<{ status: number; id?: string }> {
    try {
      const res = await fetch(`${this.apiUrl}/v1/emails`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ from: 'Shop <orders@example.com>', to: 'customer@example.net', subject, text: `body of ${subject}` }),
      });
      const body = (await res.json()) as { id?: string };
      this.count(String(res.status));
      if (res.status === 202 && body.id) this.accepted.set(subject, body.id);
      return { status: res.status, ...(body.id ? { id: body.id } : {}) };
    } catch {
      this.count('connection error');
      return { status: 0 };
    }
  }

  private count(outcome: string) {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** `concurrency` clients POSTing in a loop until stopped (or `total` sent). */
  load(concurrency: number, options: { total?: number; windowMs?: number } = {}): LoadResult {
    const windowMs = options.windowMs ?? 250;
    const started = Date.now();
    const timeline: number[] = [];
    let stopped = false;
    let issued = 0;
    const worker = async () => {
      while (!stopped && (options.total === undefined || issued < options.total)) {
        issued++;
        const { status } = await this.send();
        if (status === 202) {
          const w = Math.floor((Date.now() - started) / windowMs);
          timeline[w] = (timeline[w] ?? 0) + 1;
        } else if (status === 0) await sleep(50);
      }
    };
    const workers = Array.from({ length: concurrency }, worker);
    const finished = Promise.all(workers).then(() => {
      for (let i = 0; i < timeline.length; i++) timeline[i] ??= 0;
    });
    return {
      timeline,
      finished,
      stop: async () => {
        stopped = true;
        await finished;
      },
    };
  }

  /**
   * Waits until every accepted email has arrived (or the timeout), then compares the three
   * lists: answered 202, received by the SMTP server (by Message-ID), rows in the ledger.
   */
  async reconcile(scenario: string, timeoutMs = 120_000): Promise<Summary> {
    const expected = new Map([...this.accepted].map(([subject, id]) => [`<${id}@${MESSAGE_ID_DOMAIN}>`, subject]));
    await eventually(() => [...expected.keys()].every((mid) => this.sink.has(mid)), timeoutMs, 250);
    await sleep(1_000); // late duplicates, if any, arrive now
    this.t.same(this.sink.violations.slice(0, 5), [], `${scenario}: every message the SMTP server received met the sending policy`);
    const counts = this.sink.counts();
    const delivered = [...expected.keys()].filter((mid) => counts.has(mid)).length;
    const duplicated = [...counts].filter(([mid, n]) => expected.has(mid) && n > 1).length;
    // A duplicate keeps its Message-ID when every message with that email's subject has it.
    const bySubject = new Map<string, Set<string>>();
    for (const r of this.sink.received)
      if (r.subject) bySubject.set(r.subject, (bySubject.get(r.subject) ?? new Set()).add(r.messageId ?? ''));
    const duplicatesKeptMessageId = [...this.accepted].every(([subject, id]) => {
      const ids = bySubject.get(subject);
      return !ids || (ids.size === 1 && ids.has(`<${id}@${MESSAGE_ID_DOMAIN}>`));
    });
    const pool = ledgerPool(this.t);
    const rows = await ledgerRows(pool, [...this.accepted.values()]);
    const summary: Summary = {
      scenario,
      accepted: expected.size,
      delivered,
      lost: expected.size - delivered,
      duplicated,
      duplicatesKeptMessageId,
      fiveXX: [...this.outcomes].filter(([s]) => s.startsWith('5')).reduce((n, [, c]) => n + c, 0),
      ledgerSent: [...rows.values()].filter((r) => r.state === 'sent').length,
      testLoopMaxMs: Math.round(this.loop.max / 1e6),
    };
    // Half the mailers' SMTP timeout: a stall that long is the harness's, whatever else failed.
    const stallLimitMs = loadConfig(this.mailerEnv).SMTP_TIMEOUT_MS / 2;
    this.t.ok(
      summary.testLoopMaxMs < stallLimitMs,
      `${scenario}: the test process (and the SMTP server in it) never stalled for ${stallLimitMs} ms (longest ${summary.testLoopMaxMs} ms)`,
    );
    // Shows, e.g., how often the API re-sent partitions kafkajs had left unacknowledged.
    const apiWarnings = this.api?.warnings() ?? {};
    this.t.comment(
      `SUMMARY ${JSON.stringify(summary)} outcomes=${JSON.stringify(Object.fromEntries(this.outcomes))} apiWarnings=${JSON.stringify(apiWarnings)}`,
    );
    if (summary.lost > 0) {
      const lost = [...this.accepted].filter(([, id]) => !counts.has(`<${id}@${MESSAGE_ID_DOMAIN}>`)).map(([, id]) => id);
      this.t.comment(`LOST ${JSON.stringify(await this.diagnose(lost, rows))}`);
      this.t.comment(`MAILER ERRORS ${this.mailerLines((l) => /"level":(50|60)/.test(l), 5)}`);
    }
    if (summary.duplicated > 0) {
      // Why each was sent twice: its ledger row (attempts, uncertain, last error) and what the mailers said of it.
      const twice = [...counts].filter(([mid, n]) => expected.has(mid) && n > 1).map(([mid]) => mid.slice(1, mid.indexOf('@')));
      const shown = twice.slice(0, 5);
      this.t.comment(
        `DUPLICATED ${JSON.stringify(shown.map((id) => ({ id, ledger: rows.get(id) })))} mailerWarnings=${JSON.stringify(this.mailers.map((m) => m.warnings()))}`,
      );
      this.t.comment(`MAILER LINES ${this.mailerLines((l) => shown.some((id) => l.includes(id)), 10)}`);
    }
    if (summary.lost > 0 || summary.duplicated > 0) {
      this.t.comment(`MAILER WARNING SAMPLES ${JSON.stringify(this.mailers.map((m) => m.samples()))}`);
    }
    return summary;
  }

  /** The last `count` lines of each mailer's output (its last 20 KB) that match, for a diagnosis. */
  private mailerLines(match: (line: string) => boolean, count: number): string {
    const lines = this.mailers.flatMap((m) => m.output().split('\n').filter(match).slice(-count));
    return lines.map((l) => l.slice(0, 400)).join('\n');
  }

  /** Where each lost email is: on the topic (and past the group's committed offset?), in the ledger. */
  async diagnose(ids: string[], rows: Awaited<ReturnType<typeof ledgerRows>>) {
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = this.apiEnv.EMAILS_TOPIC!;
      const ends = await topicOffsets(admin, topic);
      const total = ends.reduce((n, p) => n + Number(p.high), 0);
      const records = await readTopic(kafka, topic, (rs) => rs.length >= total, 30_000);
      const [committed] = await admin.fetchOffsets({ groupId: this.mailerEnv.CONSUMER_GROUP!, topics: [topic] });
      return ids.map((id) => {
        const on = records.filter((r) => r.key === id).map((r) => `${r.partition}@${r.offset}`);
        const partition = records.find((r) => r.key === id)?.partition;
        const c = committed?.partitions.find((p) => p.partition === partition);
        const end = ends.find((p) => p.partition === partition);
        return { id, onTopic: on, committed: c?.offset, end: end?.high, ledger: rows.get(id)?.state ?? 'no row' };
      });
    } finally {
      await admin.disconnect();
    }
  }
}

/** Time from `fromWindow` until the first window at ≥ 90 % of the mean before it. */
export function recoveryMs(timeline: number[], fromWindow: number, windowMs = 250): number | null {
  const before = timeline.slice(Math.max(0, fromWindow - 12), fromWindow);
  const baseline = before.reduce((a, b) => a + b, 0) / Math.max(1, before.length);
  for (let w = fromWindow; w < timeline.length; w++) if ((timeline[w] ?? 0) >= 0.9 * baseline) return (w - fromWindow) * windowMs;
  return null;
}
