// test-plan: standalone
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../packages/stack/src/paths.js';

/**
 * Kubernetes manifests are checked against the published schemas twice over, with models
 * generated from them (kubernetes-models from the Kubernetes OpenAPI spec, @kubernetes-models/keda
 * from KEDA's CRDs): their validate() checks types, required fields and enums; type-checking each
 * manifest as an object literal against their interfaces rejects unknown or misplaced keys.
 */
const MODELS: Record<string, { module: string; type: string }> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'keda.sh/v1alpha1/ScaledObject': { module: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', type: 'IScaledObject' },
  'batch/v1/Job': { module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
};

const dir = join(repoRoot, 'deploy/k8s');

export function loadManifests(): { file: string; doc: Record<string, unknown> }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Record<string, unknown> })),
    );
}

/** TypeScript diagnostics for `docs` typed as their models' interfaces (unknown keys are errors). */
function typeCheck(docs: Record<string, unknown>[]): string[] {
  const lines: string[] = [];
  docs.forEach((doc, i) => {
    const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!model) return;
    lines.push(`import type { ${model.type} as T${i} } from '${model.module}';`, `export const m${i}: T${i} = ${JSON.stringify(doc)};`);
  });
  const file = join(repoRoot, '__manifests_check__.ts');
  const host = ts.createCompilerHost({});
  const read = host.getSourceFile;
  host.getSourceFile = (f, v) => (f === file ? ts.createSourceFile(f, lines.join('\n'), v) : read(f, v));
  const exists = host.fileExists;
  host.fileExists = (f) => f === file || exists(f);
  const program = ts.createProgram(
    [file],
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
    },
    host,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 300));
}

async function runtimeValidate(doc: Record<string, unknown>): Promise<void> {
  const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  const mod = (await import(model.module)) as Record<string, new (d: unknown) => { validate(): void }>;
  const Model = mod[String(doc.kind)];
  if (!Model) throw new Error(`no model ${doc.kind} in ${model.module}`);
  new Model(doc).validate();
}

t.test('every manifest is a known kind and valid against its published schema', async (t) => {
  const manifests = loadManifests();
  const kinds = manifests.map((m) => `${m.doc.apiVersion}/${m.doc.kind}`);
  for (const needed of [
    'apps/v1/Deployment',
    'v1/Service',
    'policy/v1/PodDisruptionBudget',
    'autoscaling/v2/HorizontalPodAutoscaler',
    'keda.sh/v1alpha1/ScaledObject',
    'v1/Secret',
    'batch/v1/Job',
  ]) {
    t.ok(kinds.includes(needed), `has a ${needed}`);
  }
  for (const { file, doc } of manifests) {
    const { name, generateName } = doc.metadata as { name?: string; generateName?: string };
    await t.resolves(runtimeValidate(doc), `${file}: ${doc.kind} ${name ?? generateName} validates`);
  }
  t.same(typeCheck(manifests.map((m) => m.doc)), [], 'no unknown or misplaced keys');
});

t.test('the checks fail on a typo, a misplaced key and a wrong type', async (t) => {
  const deployment = loadManifests().find((m) => m.doc.kind === 'Deployment')!.doc as {
    spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  const typo = structuredClone(deployment);
  (typo.spec.template.spec.containers[0] as Record<string, unknown>).readinessprobe = { httpGet: { path: '/readyz', port: 3000 } };
  t.match(typeCheck([typo]).join('\n'), /readinessprobe/, 'typo caught');
  const misplaced = structuredClone(deployment);
  (misplaced.spec as Record<string, unknown>).terminationGracePeriodSeconds = 45;
  t.match(typeCheck([misplaced]).join('\n'), /terminationGracePeriodSeconds/, 'pod-level key at deployment level caught');
  const wrongType = structuredClone(deployment);
  wrongType.spec.replicas = 'two';
  await t.rejects(runtimeValidate(wrongType as never), 'wrong type caught');
  const scaled = structuredClone(loadManifests().find((m) => m.doc.kind === 'ScaledObject')!.doc) as { spec: Record<string, unknown> };
  scaled.spec.maxReplicas = 3;
  t.match(typeCheck([scaled]).join('\n'), /maxReplicas/, 'KEDA typo caught');
});

t.test('operational rules: grace periods beyond the drain deadline, mailers bounded by partitions', async (t) => {
  const manifests = loadManifests().map((m) => m.doc) as Record<string, any>[];
  const config = manifests.find((d) => d.kind === 'ConfigMap')!.data;
  const servedDeployments: string[] = [];
  for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
    const pod = d.spec.template.spec;
    const env = Object.fromEntries((pod.containers[0].env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]));
    const drainMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 30_000);
    // The grace period counts from the start of the preStop hook, not from the signal.
    const preStopMs = (pod.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
    t.ok(
      pod.terminationGracePeriodSeconds * 1000 > preStopMs + drainMs,
      `${d.metadata.name}: grace ${pod.terminationGracePeriodSeconds} s > preStop ${preStopMs / 1000} s + drain ${drainMs / 1000} s`,
    );
    // Behind a Service, a pod is still sent new connections for a while after it is told to stop.
    const labels = d.spec.template.metadata.labels as Record<string, string>;
    const served = manifests.some(
      (m) => m.kind === 'Service' && Object.entries(m.spec.selector as Record<string, string>).every(([k, v]) => labels[k] === v),
    );
    if (served) servedDeployments.push(d.metadata.name);
    if (served) t.ok(preStopMs >= 5_000, `${d.metadata.name}: behind a Service, it keeps serving 5 s after it is told to stop`);
    t.ok(pod.containers[0].readinessProbe && pod.containers[0].livenessProbe, `${d.metadata.name}: probes`);
    t.ok(pod.containers[0].resources.requests && pod.containers[0].resources.limits, `${d.metadata.name}: requests and limits`);
  }
  t.same(servedDeployments.sort(), ['postline-api', 'postline-bounces'], 'the Deployments behind a Service');
  const scaled = manifests.find((d) => d.kind === 'ScaledObject')!;
  t.equal(scaled.spec.maxReplicaCount, Number(config.EMAILS_PARTITIONS), 'max mailers = partitions');
  t.ok(
    scaled.spec.triggers.every(
      (tr: { type: string; metadata: { consumerGroup: string } }) =>
        tr.type === 'kafka' && tr.metadata.consumerGroup === config.CONSUMER_GROUP,
    ),
    'scales on the mailers’ group lag',
  );
  // The SMTP listeners limit connections per client address: a Service that exposes one outside
  // the cluster must not replace those addresses with a node's (externalTrafficPolicy: Cluster).
  for (const service of manifests.filter((d) => d.kind === 'Service' && ['LoadBalancer', 'NodePort'].includes(d.spec.type))) {
    t.equal(service.spec.externalTrafficPolicy, 'Local', `${service.metadata.name}: the senders' own addresses are kept`);
  }
});

t.test("the migrations Job: the release's image, the ledger's entry point, the owner's URL seen by no service", async (t) => {
  const manifests = loadManifests().map((m) => m.doc) as Record<string, any>[];
  const job = manifests.find((d) => d.kind === 'Job')!;
  const [container] = job.spec.template.spec.containers;
  const deployments = manifests.filter((d) => d.kind === 'Deployment');
  const release = (image: string) => image.split(':')[1];
  for (const d of deployments)
    t.equal(release(container.image), release(d.spec.template.spec.containers[0].image), `the ${d.metadata.name} release`);
  t.same(container.command, ['node', 'packages/ledger/dist/migrate-main.js']);
  t.ok(
    existsSync(join(repoRoot, 'packages/ledger/src/migrate-main.ts')),
    'its entry point is built into every image (artifact.test.ts runs it)',
  );
  t.same(container.env, [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'postline-migrate', key: 'DATABASE_URL' } } }]);
  for (const d of deployments)
    t.notMatch(JSON.stringify(d.spec.template.spec), 'postline-migrate', `${d.metadata.name} does not see the owner's URL`);
  // Created per release with generateName: `kubectl apply -k` would try to change a finished Job.
  t.ok(job.metadata.generateName && !job.metadata.name);
  t.notMatch(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), 'migrate-job', 'not applied with the services');
});
