#!/usr/bin/env node
// `npm start`: the whole system on one machine — infra, the API on PORT (3000), one mailer, one webhook dispatcher
// and the bounce listener (SMTP on 2525).
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGuarded, terminate } from '../guarded-process.js';
import { nodeArgsFor } from '../node-options.js';
import { repoRoot } from '../paths.js';
import { startStack } from '../stack.js';
import { stackOptionsFromEnv } from '../stack-env.js';
import { progress, runMain, untilSignal } from './run-main.js';

const SERVICES: { name: string; entry: string; env?: Record<string, string> }[] = [
  { name: 'api', entry: 'services/api/dist/server.js' },
  { name: 'mailer', entry: 'services/mailer/dist/server.js' },
  // Its own metrics port, whatever METRICS_PORT says (that one is the mailer's).
  { name: 'webhooks', entry: 'services/webhooks/dist/server.js', env: { METRICS_PORT: '9465' } },
  { name: 'bounces', entry: 'services/api/dist/bounce-server.js', env: { METRICS_PORT: '9466' } },
];

runMain(async () => {
  const stack = await startStack({ ...stackOptionsFromEnv(), progress });
  const port = process.env.PORT ?? '3000';
  // `npm start` is a development command: the services' development defaults apply unless the
  // caller says otherwise (outside development and test they fail closed; see allowsDevDefaults).
  // The mailer's Return-Paths name the bounce listener's domain (VERP), as in production.
  const env = { NODE_ENV: 'development', BOUNCE_DOMAIN: 'bounces.example.com', ...process.env, ...stack.env, PORT: port };
  const children: ChildProcess[] = [];
  for (const service of SERVICES) {
    const entry = join(repoRoot, service.entry);
    if (!existsSync(entry)) continue; // until a service exists, `npm start` runs what exists
    // SIGTERM on our death: a service drains (answers in-flight requests, commits) rather than vanishing.
    const child = spawnGuarded(process.execPath, [...nodeArgsFor(entry), entry], {
      pidFile: join(stack.dataDir, `${service.name}.pid`),
      deathSignal: 'SIGTERM',
      env: { ...env, ...service.env },
      stdio: 'inherit',
    });
    child.once('exit', (code, signal) => progress(`${service.name} exited (code ${code}, signal ${signal})`));
    children.push(child);
  }
  const lines = [
    children.length > 0 ? `API:      http://127.0.0.1:${port}` : null,
    children.length > 0 ? `Docs:     http://127.0.0.1:${port}/docs` : null,
    children.length > 1 ? `Mailer:   http://127.0.0.1:${process.env.METRICS_PORT ?? '9464'}/metrics` : null,
    children.length > 2 ? 'Webhooks: http://127.0.0.1:9465/metrics' : null,
    children.length > 3
      ? `Bounces:  smtp://127.0.0.1:${process.env.BOUNCE_SMTP_PORT ?? '2525'} (metrics http://127.0.0.1:9466/metrics)`
      : null,
    stack.env.INBOX_URL ? `Inbox:    ${stack.env.INBOX_URL}` : null,
    ...Object.entries(stack.env).map(([k, v]) => `${k}=${v}`),
  ].filter(Boolean);
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  progress('press Ctrl-C to stop');
  await untilSignal();
  progress('stopping');
  // Services first, so the API can still reach Kafka while it answers in-flight requests.
  await Promise.all(children.map((c) => terminate(c, 'SIGTERM', 30_000)));
  await stack.stop();
  progress('stopped');
  return 0;
});
