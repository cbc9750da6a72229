import t from 'tap';
import { stackControl } from '../../../packages/stack/src/control-client.js';
import { freePort } from '../../../packages/stack/src/ports.js';
import { answers, sleep } from '../../../test/helpers/env.js';
import { envelope, eventually, mailerFixture, produce } from '../../../test/helpers/mailer.js';
import { spawnService } from '../../../test/helpers/processes-mailer.js';

const control = stackControl();

t.test('a mailer started while Postgres is down waits for it, then starts and sends', { skip: !control && 'external stack' }, async (t) => {
  const { sink, env } = await mailerFixture(t);
  const port = await freePort();
  t.teardown(() => control!.postgres('start'));
  await control!.postgres('stop');
  const mailer = spawnService(t, 'mailer', { ...env, METRICS_PORT: String(port), LOG_LEVEL: 'warn' });
  await sleep(5_000);
  t.equal(mailer.child.exitCode, null, 'still running: boot retries instead of dying');
  t.match(mailer.output(), /boot step failed; retrying/, 'and says why it is waiting');
  await control!.postgres('start');
  t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 60_000), 'ready once Postgres is back');
  const e = envelope();
  await produce(env.EMAILS_TOPIC!, [e]);
  t.ok(await eventually(() => sink.received.some((m) => m.messageId === `<${e.id}@mail.test.example>`), 30_000), 'and sends');
});
