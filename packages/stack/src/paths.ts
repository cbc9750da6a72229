import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/stack (this file lives in packages/stack/{src,dist}). */
export const stackPackageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(stackPackageDir, '../..');

/** Where `npm start` / `npm run infra` keep Kafka and Postgres data between runs (git-ignored). */
export const defaultDataDir = join(repoRoot, '.data');

/** Downloaded jars live outside the repo, so every clone and every CI run reuses them. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'postline');
}
