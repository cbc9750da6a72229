// `node packages/ledger/dist/migrate-main.js`, in every image (each carries the ledger package):
// `postline migrate` for deployments that run images and no checkout, e.g. a Kubernetes Job with
// the schema owner's DATABASE_URL before a release's services start (deploy/k8s/migrate-job.yaml).
// Prints what it applied as one JSON line; a problem is one sentence and exit 1.
import { fields, parseEnv } from '@postline/runtime';
import { z } from 'zod';
import { migrateDatabase } from './migrate.js';

try {
  const { DATABASE_URL } = parseEnv(z.object({ DATABASE_URL: fields.postgresUrl }));
  process.stdout.write(`${JSON.stringify(await migrateDatabase(DATABASE_URL))}\n`);
} catch (error) {
  const known = (error as Error).name === 'ConfigError';
  process.stderr.write(`${known ? '' : 'could not migrate the ledger: '}${(error as Error).message}\n`);
  process.exitCode = 1;
}
