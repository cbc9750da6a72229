import pg from 'pg';
import t from 'tap';
import { AUTH } from '../helpers/api.js';
import { sleep, stackEnv, uniqueName } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { System } from './harness.js';

// What the README's "How many connections" promises: each process opens at most
// DATABASE_POOL_SIZE connections to Postgres (the API 2 more, for the rows after the ack), so a
// Postgres that allows the sum of them never refuses one; and when it does refuse (a lower
// limit, `max_connections` reached), nothing is lost. Here the limit is the services' role's
// (`connection limit`), the same refusal (53300) as a full `max_connections`, for this file's
// services alone. Production defaults for every timing.

const MAILERS = 2;
/** The documented sum: the API 10 + 2, each mailer 10, the dispatcher 10. */
const BUDGET = 10 + 2 + MAILERS * 10 + 10;

t.test(
  '23. a Postgres with room for the connections the README counts: none refused under load and a burst of lookups; with room for 4, the services wait and nothing is lost (defaults)',
  async (t) => {
    const su = new URL(stackEnv().databaseUrl);
    const admin = new pg.Pool({ connectionString: su.href, max: 1 });
    t.teardown(() => admin.end());
    const role = uniqueName('conns')
      .replace(/[^a-z0-9_]/gi, '_')
      .toLowerCase();
    await admin.query(`create role ${role} login password 'pw' connection limit ${BUDGET}`);
    // The role owns its database: the services migrate it as they start.
    await admin.query(`create database ${role} owner ${role}`);
    t.teardown(async () => {
      await admin.query(`drop database if exists ${role} with (force)`);
      await admin.query(`drop role if exists ${role}`);
    });
    const url = `postgres://${role}:pw@${su.host}/${role}`;
    // The reconciliation reads this database, as the superuser (no limit).
    process.env.DATABASE_URL = `postgres://postgres:${su.password}@${su.host}/${role}`;
    const system = await System.start(t, { mailers: MAILERS, api: { DATABASE_URL: url }, mailer: { DATABASE_URL: url } });
    await system.startWebhooks({ DATABASE_URL: url });
    // Postgres' refusals (53300), counted over the rest of the run: the services log them at warn.
    const services = [system.api, ...system.mailers, ...system.dispatchers].map((s) => ({
      ...s,
      refused: s.counter(/too many connections/),
    }));

    const peak = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ name: string; n: number }>(
          'select application_name as name, count(*)::int as n from pg_stat_activity where usename = $1 group by 1',
          [role],
        );
        for (const r of rows) peak.set(r.name, Math.max(peak.get(r.name) ?? 0, r.n));
        await sleep(20);
      }
    })();
    // Emails, and beside them status lookups 40 at a time: the API's own pool in full use.
    const load = system.load(32, { total: 2_000 });
    let looking = true;
    const lookups = Array.from({ length: 40 }, async () => {
      while (looking) {
        const ids = [...system.accepted.values()];
        const id = ids[Math.floor(Math.random() * ids.length)];
        if (id) await fetch(`${system.apiUrl}/v1/emails/${id}`, { headers: AUTH }).then((r) => r.arrayBuffer());
        else await sleep(10);
      }
    });
    await load.finished;
    looking = false;
    await Promise.all(lookups);
    sampling = false;
    await sampler;
    const at = Object.fromEntries(peak);
    t.comment(`peak connections by pool: ${JSON.stringify(at)}`);
    t.ok((at['postline-api'] ?? 0) <= 10 && (at['postline-api-rows'] ?? 0) <= 2, 'the API within its 10 + 2', { at });
    t.ok((at['postline-api'] ?? 0) >= 5, 'the lookups used the API pool (the sampling saw them)', { at });
    t.ok((at['postline-mailer'] ?? 0) <= MAILERS * 10 && (at['postline-webhooks'] ?? 0) <= 10, 'mailers and dispatcher within theirs', {
      at,
    });
    t.same(
      Object.keys(at).filter((n) => !n.startsWith('postline-')),
      [],
      'no connection outside the services’ pools',
    );
    const refusals = () => services.reduce((sum, s) => sum + s.refused(), 0);
    t.equal(refusals(), 0, 'at the documented sum, no connection was refused');

    // Now Postgres has room for 4 of them: every session is cut and the limit lowered under load.
    await admin.query(`alter role ${role} connection limit 4`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [role]);
    const squeezed = system.load(16, { total: 1_000 });
    await sleep(10_000);
    t.ok(refusals() > 0, 'Postgres refused connections meanwhile (53300)', { refusals: refusals() });
    await admin.query(`alter role ${role} connection limit ${BUDGET}`);
    await squeezed.finished;
    const s = await system.reconcile('a Postgres with room for the connections the README counts, then for 4 (defaults)', 180_000);
    t.equal(s.accepted, 3_000);
    t.equal(s.lost, 0);
    t.equal(s.duplicated, 0);
    t.equal(s.ledgerSent, s.accepted, 'the ledger says sent for each');
    t.ok(await eventually(() => services.every((p) => p.child.exitCode === null), 1_000), 'no service exited');
  },
);
