import t from 'tap';
import { stackControl } from '../../../packages/stack/src/control-client.js';
import { freePort } from '../../../packages/stack/src/ports.js';
import { answers } from '../../../test/helpers/env.js';
import { envelope, eventually, mailerFixture, produce } from '../../../test/helpers/mailer.js';
import { spawnService } from '../../../test/helpers/processes-mailer.js';

const control = stackControl();

t.test('a mailer started while Postgres is down waits for it, then starts and sends', { skip: !control && 'external stack' }, async (t) => {
  const { sink, env } = await mailerFixture(t);
  const port = await freePort();
  t.teardown(() => control!.postgres('start'));
  await control!.postgres('stop');
  const mailer = spawnService(t, 'mailer', { ...env, METRICS_PORT: String(port), LOG_LEVEL: 'warn' });
  // Postgres stays down until the mailer has said so three times (its retries 250, 500 and 1,000 ms
  // apart): a check at a fixed 5 s found nothing logged yet, the mailer still booting on CI's busy
  // host (CI on 8b1cb5d). How soon it boots is not what this tests; that it waits and says why is.
  const spawned = Date.now();
  const retried = await eventually(() => (mailer.messages()['boot step failed; retrying'] ?? 0) >= 3, 30_000);
  t.ok(retried, 'it says why it is waiting, and retries', { output: mailer.output().slice(-3_000) });
  t.comment(`three retries logged ${Date.now() - spawned} ms after its start`);
  t.equal(mailer.child.exitCode, null, 'still running: boot retries instead of dying');
  await control!.postgres('start');
  t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 60_000), 'ready once Postgres is back');
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e]);
  t.ok(await eventually(() => sink.received.some((m) => m.messageId === `<${e.id}@mail.test.example>`), 30_000), 'and sends');
});
