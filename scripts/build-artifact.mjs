#!/usr/bin/env node
// Builds the production artifact of one service into a folder: its compiled dist/, the dist/ of
// the workspace packages it uses, and a production-only node_modules (no dev tools, no local
// stack). The Dockerfile runs exactly this, and so does the test that starts services from it.
//
//   node scripts/build-artifact.mjs api|mailer|webhooks OUT_DIR      (run `npm run build` first)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchKafkajs } from './patch-kafkajs.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [service, outArg] = process.argv.slice(2);
if (!['api', 'mailer', 'webhooks'].includes(service ?? '') || !outArg) {
  process.stderr.write('usage: node scripts/build-artifact.mjs api|mailer|webhooks OUT_DIR\n');
  process.exit(2);
}
const out = resolve(outArg);
const workspaces = ['packages/contracts', 'packages/runtime', 'packages/ledger', `services/${service}`];

for (const ws of workspaces) {
  if (!existsSync(join(root, ws, 'dist'))) {
    process.stderr.write(`${ws}/dist is missing: run \`npm run build\` first.\n`);
    process.exit(1);
  }
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify({ name: rootPkg.name, version: rootPkg.version, private: true, type: 'module', workspaces, allowScripts: rootPkg.allowScripts }, null, 2)}\n`,
);
cpSync(join(root, 'package-lock.json'), join(out, 'package-lock.json'));
for (const ws of workspaces) {
  mkdirSync(join(out, ws), { recursive: true });
  cpSync(join(root, ws, 'package.json'), join(out, ws, 'package.json'));
  cpSync(join(root, ws, 'dist'), join(out, ws, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
}
// The lock pins every version; `install` (not `ci`) because the artifact has fewer workspaces
// than the lock describes, and it prunes the lock to them.
execFileSync('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: out,
  stdio: 'inherit',
});
// --ignore-scripts above skips the root's postinstall, which applies this.
patchKafkajs(out);
process.stdout.write(`${out}: node ${`services/${service}/dist/server.js`}\n`);
