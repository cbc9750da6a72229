// `npm run test:chaos`: every service as users run it (production defaults for every timing),
// under a paced load, while a seeded nemesis breaks one thing after another, often several at
// once, for CHAOS_MINUTES (10). Then everything is repaired and the run reconciles: every 202 reached
// the SMTP server once (a resend only with its Message-ID), every ledger row ended `sent`, every
// event reached the webhook receiver, a retried Idempotency-Key never made a second email, and no
// process exited that was not told to. Not a `.test.ts`, so not in `npm test` (CI's 30 minutes);
// README, "Chaos run". CHAOS_SEED replays a run's choices of faults, victims and durations; which
// of them overlap is the host's timing.
import t from 'tap';
import { stackControl } from '../../packages/stack/src/control-client.js';
import { running } from '../e2e/boot-waits.js';
import { System } from '../e2e/harness.js';
import { AUTH } from '../helpers/api.js';
import { eventually, ledgerPool } from '../helpers/mailer.js';
import type { ServiceProcess } from '../helpers/processes-mailer.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { sleep } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { type FaultTargets, faults, type Resource } from './faults.js';
import { pacedLoad } from './paced-load.js';

const control = stackControl();
const minutes = Number(process.env.CHAOS_MINUTES ?? 10);
const rate = Number(process.env.CHAOS_RATE ?? 50);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** CHAOS_ONLY=mailer,smtp: only the faults of those resources (faults.ts' Resource). */
const only = process.env.CHAOS_ONLY ? new Set(process.env.CHAOS_ONLY.split(',')) : null;

t.test(
  `nemesis: ${minutes} min of faults at ${rate} emails/s (CHAOS_SEED=${seed})`,
  { skip: !control && 'needs the stack `npm test` starts' },
  async (t) => {
    t.comment(`CHAOS_SEED=${seed}`);
    const random = seededRandom(seed);
    // The retry backoff at its default too (the e2e helpers shorten it, as policy): a 451 waits 30 s.
    const system = await System.start(t, { mailers: 2, mailer: { RETRY_BASE_MS: '', RETRY_MAX_MS: '' } });
    const receiver = await new WebhookReceiver().start();
    t.teardown(() => receiver.stop());
    const endpointId = await receiver.subscribe(system.apiUrl, AUTH);
    await system.startWebhooks();
    const targets: FaultTargets = {
      system,
      control: control!,
      receiver,
      random,
      signalled: new Set<ServiceProcess>(),
      terms: [],
      paused: new Set<number>(),
    };
    // Whatever happens, the stack is whole again for the next file.
    t.teardown(async () => {
      for (const node of [1, 2, 3]) await control!.kafka(node, 'start').catch(() => {});
      await control!.postgres('start').catch(() => {});
    });

    // Its own generator: the faults' draws stay the seed's whatever the load drew meanwhile.
    const load = pacedLoad(system, rate, seededRandom(seed ^ 0x5bd1e995));
    const menu = faults(targets).filter((f) => !only || only.has(f.resource));
    t.ok(menu.length > 0, `faults to choose from: ${menu.length}`);
    const busy = new Set<Resource>();
    const inFlight: Promise<void>[] = [];
    const started = performance.now();
    const at = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
    const log: string[] = [];
    while (performance.now() - started < minutes * 60_000) {
      await sleep(3_000 + random() * 12_000);
      const free = menu.filter((f) => !busy.has(f.resource));
      const fault = free[Math.floor(random() * free.length)];
      if (!fault) continue;
      busy.add(fault.resource);
      const begun = at();
      inFlight.push(
        fault
          .run()
          .then(
            (what) => void log.push(`${begun} ${fault.name}: ${what}`),
            (error: Error) => void log.push(`${begun} ${fault.name}: FAILED ${error.message}`),
          )
          .finally(() => busy.delete(fault.resource)),
      );
    }
    await Promise.all(inFlight);
    await load.stop();
    t.comment(`FAULTS ${log.length}\n${log.join('\n')}`);
    t.notOk(
      log.some((l) => l.includes('FAILED')),
      'every fault was injected and repaired',
    );

    const s = await system.reconcile(`nemesis seed ${seed}`, 600_000);
    t.ok(s.accepted > rate * minutes * 30, `accepted ${s.accepted} (${JSON.stringify(Object.fromEntries(system.outcomes))})`);
    t.equal(s.lost, 0, '0 lost');
    t.ok(s.duplicatesKeptMessageId, 'a resend only ever with its Message-ID');
    t.equal(s.ledgerSent, s.accepted, 'every ledger row ended sent');
    const unexpected = [...system.outcomes.keys()].filter((k) => !['202', '503', 'connection error'].includes(k));
    t.same(unexpected, [], 'every answer a 202, a 503 or a connection cut by a kill');
    t.same(load.keysWithTwoIds(), [], 'a retried Idempotency-Key always got its first id');
    t.comment(`client retries with the same Idempotency-Key: ${load.retried()}`);
    for (const term of targets.terms) {
      const clean = term.code === 0 || term.signal === 'SIGTERM';
      t.ok(clean, `${term.name} SIGTERM: exit ${term.code ?? term.signal} after ${term.ms} ms${clean ? '' : `: ${term.tail}`}`);
    }
    const processes = [
      ...system.mailers.map((p, i) => ({ p, name: `mailer ${i + 1}` })),
      ...system.dispatchers.map((p, i) => ({ p, name: `webhook dispatcher ${i + 1}` })),
      { p: system.api, name: 'the last API' },
    ];
    for (const { p, name } of processes.filter(({ p }) => !targets.signalled.has(p))) {
      const runs = await running(p);
      t.ok(runs, `${name}, never signalled, still runs${runs ? '' : `: ${p.output().slice(-600)}`}`);
    }

    // Every event the ledger holds for the accepted emails reached the receiver, verified by standardwebhooks.
    const pool = ledgerPool(t);
    const ids = [...system.accepted.values()];
    const undelivered = async () => {
      const { rows } = await pool.query<{ id: string }>('select id from email_events where email_id = any($1)', [ids]);
      return rows.filter((r) => !receiver.deliveredIds.has(r.id)).map((r) => r.id);
    };
    // Polled cheaply: the outbox and this endpoint's pending deliveries are two counts on small
    // indexes. The full diff (every accepted id against every event, ~6 s at 95,000 emails) runs
    // only when both are empty; run every 5 s, it competed with the dispatcher for Postgres.
    const backlog = async () => {
      const { rows } = await pool.query<{ outbox: number; pending: number }>(
        `select (select count(*)::int from event_outbox) as outbox,
                (select count(*)::int from webhook_deliveries where endpoint_id = $1 and status = 'pending') as pending`,
        [endpointId],
      );
      return rows[0]!;
    };
    let lastShown = 0;
    await eventually(
      async () => {
        const { outbox, pending } = await backlog();
        // Draining or stuck: the counts every half minute say which.
        if (performance.now() - lastShown > 30_000) {
          lastShown = performance.now();
          t.comment(`${at()}: outbox ${outbox}, deliveries pending ${pending}, at the receiver ${receiver.deliveredIds.size}`);
        }
        // Empty counts can also mean events still on the topic, before the dispatcher stores them.
        return outbox === 0 && pending === 0 && (await undelivered()).length === 0;
      },
      300_000,
      5_000,
    );
    const missing = await undelivered();
    if (missing.length > 0) {
      const { rows } = await pool.query(
        `select d.status, d.attempts, d.next_attempt_at < now() as due, d.locked_until > now() as locked, d.last_status_code, d.last_error, count(*)::int as n
           from unnest($1::text[]) as m(id) left join webhook_deliveries d on d.event_id = m.id
           group by 1, 2, 3, 4, 5, 6 order by n desc limit 10`,
        [missing],
      );
      const { outbox, pending } = await backlog();
      t.comment(`UNDELIVERED ${missing.length}: ${JSON.stringify(rows)}; outbox ${outbox}, deliveries pending ${pending}`);
    }
    t.same(missing.slice(0, 5), [], 'every event delivered to the webhook receiver');
    const withoutSent = ids.filter((id) => !receiver.of(id).some((d) => d.type === 'email.sent'));
    t.same(withoutSent.slice(0, 5), [], 'every email has its email.sent webhook');
    t.same(receiver.badSignatures.slice(0, 3), [], 'every signature verified');
  },
);
