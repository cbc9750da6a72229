import type { Test } from 'tap';
import { answers, sleep } from '../helpers/env.js';
import { eventually } from '../helpers/mailer.js';
import type { ServiceProcess } from '../helpers/processes-mailer.js';
import type { System } from './harness.js';

/** Whether the process is still running (it has not exited by now). */
export const running = async (p: ServiceProcess) =>
  (await Promise.race([p.exited.then(() => false), sleep(0).then(() => true)])) as boolean;

/** Waits for `mailer` to join (its /readyz), checking meanwhile that it answers /healthz and never exits. */
export async function untilJoined(t: Test, system: System, mailer: ServiceProcess, since: number) {
  const port = system.mailerPorts[system.mailers.indexOf(mailer)];
  t.ok(await eventually(() => answers(`http://127.0.0.1:${port}/healthz`), 10_000, 100), '/healthz answers while it waits to join');
  const joined = await eventually(() => answers(`http://127.0.0.1:${port}/readyz`), 150_000, 200);
  t.ok(joined, 'it joins the group');
  t.ok(await running(mailer), `it never exited at boot (${mailer.output().slice(-300)})`);
  return Date.now() - since;
}
