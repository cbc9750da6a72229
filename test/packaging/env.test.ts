import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { repoRoot } from '../../packages/stack/src/paths.js';
import { ENV_VARS as BOUNCE_VARS } from '../../services/api/src/bounces/config.js';
import { ENV_VARS as API_VARS } from '../../services/api/src/config.js';
import { ENV_VARS as MAILER_VARS } from '../../services/mailer/src/config.js';
import { ENV_VARS as WEBHOOKS_VARS } from '../../services/webhooks/src/config.js';
import { loadManifests } from './manifests.test.js';

/** What each service cannot run without in production (no default, or refused without). */
const REQUIRED = {
  api: ['NODE_ENV', 'KAFKA_BROKERS', 'DATABASE_URL', 'API_KEYS', 'SENDER_DOMAINS'],
  mailer: ['NODE_ENV', 'KAFKA_BROKERS', 'DATABASE_URL', 'SMTP_URL', 'MESSAGE_ID_DOMAIN', 'SENDER_DOMAINS'],
  webhooks: ['NODE_ENV', 'KAFKA_BROKERS', 'DATABASE_URL'],
  bounces: ['NODE_ENV', 'DATABASE_URL', 'BOUNCE_DOMAIN'],
};
const READS = { api: new Set(API_VARS), mailer: new Set(MAILER_VARS), webhooks: new Set(WEBHOOKS_VARS), bounces: new Set(BOUNCE_VARS) };

t.test('the required variables are real ones the services read', async (t) => {
  for (const [svc, vars] of Object.entries(REQUIRED)) for (const v of vars) t.ok(READS[svc as 'api'].has(v), `${svc} reads ${v}`);
});

t.test('compose sets what each service needs, and nothing it does not read', async (t) => {
  const { services } = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as Record<string, any>;
  for (const svc of ['api', 'mailer', 'webhooks', 'bounces'] as const) {
    const env = Object.keys(services[svc].environment);
    t.same(
      REQUIRED[svc].filter((v) => !env.includes(v)),
      [],
      `${svc}: every required variable is set`,
    );
    t.same(
      env.filter((v) => !READS[svc].has(v)),
      [],
      `${svc}: no variable it does not read (a typo would be silently ignored)`,
    );
  }
});

t.test('the Kubernetes manifests set what each service needs, and nothing it does not read', async (t) => {
  const docs = loadManifests().map((m) => m.doc) as Record<string, any>[];
  const byName = new Map(docs.map((d) => [`${d.kind}/${d.metadata.name}`, d]));
  for (const svc of ['api', 'mailer', 'webhooks', 'bounces'] as const) {
    const deployment = byName.get(`Deployment/postline-${svc}`)!;
    const container = deployment.spec.template.spec.containers[0];
    const env = new Set<string>((container.env ?? []).map((e: { name: string }) => e.name));
    for (const from of container.envFrom ?? []) {
      const source = from.configMapRef
        ? byName.get(`ConfigMap/${from.configMapRef.name}`)?.data
        : byName.get(`Secret/${from.secretRef.name}`)?.stringData;
      t.ok(source, `${svc}: ${JSON.stringify(from)} exists`);
      for (const k of Object.keys(source ?? {})) env.add(k);
    }
    t.same(
      REQUIRED[svc].filter((v) => !env.has(v)),
      [],
      `${svc}: every required variable is set`,
    );
    // Shared config maps may carry the other service's settings; each must be read by one of them.
    t.same(
      [...env].filter((v) => !Object.values(READS).some((reads) => reads.has(v))),
      [],
      `${svc}: no variable no service reads`,
    );
    t.same(
      (container.env ?? []).map((e: { name: string }) => e.name).filter((v: string) => !READS[svc].has(v)),
      [],
      `${svc}: its own env entries are all read by it`,
    );
  }
});
