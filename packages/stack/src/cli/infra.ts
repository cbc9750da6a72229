#!/usr/bin/env node
// `npm run infra`: only Kafka + Postgres + the inbox, printing their env one NAME=value a line,
// so the services can be started, killed and restarted one by one against it.
import { startStack } from '../stack.js';
import { stackOptionsFromEnv } from '../stack-env.js';
import { progress, runMain, untilSignal } from './run-main.js';

runMain(async () => {
  const stack = await startStack({ ...stackOptionsFromEnv(), progress });
  for (const [name, value] of Object.entries(stack.env)) process.stdout.write(`${name}=${value}\n`);
  progress('press Ctrl-C to stop');
  await untilSignal();
  progress('stopping');
  await stack.stop();
  progress('stopped');
  return 0;
});
