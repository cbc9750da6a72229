import t from 'tap';
import { sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import { running, untilJoined } from './boot-waits.js';
import { System } from './harness.js';

// Issue #11: a mailer restarted by an orchestrator, with the production default for every timing
// (SESSION_TIMEOUT_MS 30 s, CLAIM_TTL_MS 60 s, SMTP 10 s, send 45 s, BOOT_TIMEOUT_MS 120 s). The
// new mailer must not exit at boot while the dead member still holds the group.

// Scenarios 15 and 16 (a dependency down while a service boots) are in boot-outages.test.ts: they
// stop parts of the stack, so they run alone; these two run beside other files.

t.test('13. SIGKILL of the mailer under load and an immediate restart, with the defaults → it waits, joins, 0 lost', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  const load = system.load(4, { total: 1_500 });
  t.ok(await eventually(async () => system.sink.received.length >= 200, 60_000), 'mail flows');
  system.mailers[0]!.child.kill('SIGKILL');
  await system.mailers[0]!.exited;
  const restartedAt = Date.now();
  const next = await system.spawnMailer();
  const restartToReadyMs = await untilJoined(t, system, next, restartedAt);
  await load.finished;
  const s = await system.reconcile('mailer SIGKILL + immediate restart (defaults)', 240_000);
  const first = system.firstDeliveryAfter(restartedAt);
  t.comment(`RESTART ${JSON.stringify({ restartToReadyMs, restartToFirstSendMs: first && first - restartedAt })}`);
  t.equal(s.accepted, 1_500);
  t.equal(s.lost, 0, '0 lost');
  t.ok(s.duplicatesKeptMessageId, 'a duplicate (a send cut by the kill) keeps its Message-ID');
  t.equal(s.ledgerSent, s.accepted, 'every row final as sent');
  t.ok(await running(next), 'still running');
});

t.test('14. a crash loop: the only mailer killed every 5 s, five times, each restarted at once → 0 lost', async (t) => {
  const system = await System.start(t, { mailers: 1 });
  const load = system.load(4, { total: 1_500 });
  t.ok(await eventually(async () => system.sink.received.length >= 100, 60_000), 'mail flows');
  let restartedAt = 0;
  for (let kill = 0; kill < 5; kill++) {
    const current = system.mailers.at(-1)!;
    t.ok(await running(current), `mailer ${kill + 1} was still running when killed (it never exited by itself)`);
    current.child.kill('SIGKILL');
    await current.exited;
    restartedAt = Date.now();
    await system.spawnMailer();
    if (kill < 4) await sleep(5_000);
  }
  const restartToReadyMs = await untilJoined(t, system, system.mailers.at(-1)!, restartedAt);
  await load.finished;
  const s = await system.reconcile('crash loop: 5 kills 5 s apart (defaults)', 240_000);
  const first = system.firstDeliveryAfter(restartedAt);
  t.comment(`RESTART ${JSON.stringify({ restartToReadyMs, restartToFirstSendMs: first && first - restartedAt })}`);
  t.equal(s.lost, 0, '0 lost');
  t.ok(s.duplicatesKeptMessageId, 'duplicates only with the original Message-ID');
  t.equal(s.ledgerSent, s.accepted);
});
