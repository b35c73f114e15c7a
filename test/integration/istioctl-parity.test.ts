/**
 * istioctl analyze parity: `cdk8s-mesh lint` and the real `istioctl analyze` (1.30) read the same
 * fixture, and report the same IST codes on the same objects.
 *
 * `istioctl analyze --use-kube=false` runs only the analyzers whose inputs are Istio resources: it
 * does not read Pods, Services or Namespaces from files, and skips every analyzer that needs them
 * (its `--log_output_level analysis:info` says "Skipping analyzer … because collection core/v1/Pod
 * is not in the snapshot(s)"). Those are compared on files here; the others need a cluster and are
 * compared against the real apiserver (`istioctl analyze --kubeconfig`).
 */
import * as k8s from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { run } from '../../cli/main.js';
import { cluster, runTool, testNamespace } from '../harness/cluster.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/istioctl-parity');

/** The codes of istioctl's analyzers that run on files, which a rule of ours mirrors. */
const OFFLINE_CODES = [
  'IST0109',
  'IST0128',
  'IST0129',
  'IST0134',
  'IST0138',
  'IST0151',
  'IST0152',
  'IST0153',
  'IST0154',
  'IST0155',
  'IST0157',
  'IST0160',
];

/** The codes of istioctl's analyzers that need Pods, Services or Namespaces, which a rule of ours mirrors. */
const CLUSTER_CODES = [
  'IST0101',
  'IST0110',
  'IST0111',
  'IST0116',
  'IST0127',
  'IST0137',
  'IST0145',
  'IST0150',
  'IST0159',
  'IST0162',
];

interface Theirs {
  readonly code: string;
  readonly level: string;
  readonly origin: string;
  readonly message: string;
}
interface Ours {
  readonly code: string;
  readonly severity: string;
  readonly mirrors: string[];
  readonly object: string;
  readonly message: string;
}

async function lint(...argv: string[]): Promise<Ours[]> {
  let out = '';
  let err = '';
  await run(['lint', ...argv, '--output', 'json'], { out: (s) => (out += s), err: (s) => (err += s) });
  expect(err).toBe('');
  return (JSON.parse(out) as { findings: Ours[] }).findings;
}

async function istioctl(...argv: string[]): Promise<Theirs[]> {
  const r = await runTool('istioctl', ['analyze', ...argv, '-o', 'json']);
  expect([0, 79]).toContain(r.code);
  return JSON.parse(r.stdout || '[]') as Theirs[];
}

/** `CODE Kind ns/name` of istioctl's messages with one of `codes`, sorted, without repeats. */
const theirKeys = (ms: readonly Theirs[], codes: readonly string[]) =>
  [...new Set(ms.filter((m) => codes.includes(m.code)).map((m) => `${m.code} ${m.origin}`))].sort();

/** The same of our findings, by the IST codes they mirror. */
const ourKeys = (fs: readonly Ours[], codes: readonly string[]) =>
  [
    ...new Set(fs.flatMap((f) => f.mirrors.filter((c) => codes.includes(c)).map((c) => `${c} ${f.object}`))),
  ].sort();

const LEVEL: Record<string, string> = { error: 'Error', warning: 'Warning', info: 'Info' };

describe('lint and istioctl analyze --use-kube=false agree on the same files', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));
  const seen = new Set<string>();

  test.each(files)('%s: the same IST codes on the same objects, at the same severity', async (file) => {
    const path = join(FIXTURES, file);
    const theirs = await istioctl('--use-kube=false', '--all-namespaces', path);
    const ours = await lint(path);
    const expected = theirKeys(theirs, OFFLINE_CODES);
    expect(expected.length).toBeGreaterThan(0);
    expect(ourKeys(ours, OFFLINE_CODES)).toEqual(expected);
    for (const t of theirs.filter((m) => OFFLINE_CODES.includes(m.code))) {
      seen.add(t.code);
      const mine = ours.filter((f) => f.object === t.origin && f.mirrors.includes(t.code));
      expect(mine.map((f) => LEVEL[f.severity])).toEqual(mine.map(() => t.level));
    }
  });

  test('every offline code was produced by istioctl in some fixture', () => {
    expect([...seen].sort()).toEqual([...OFFLINE_CODES].sort());
  });

  test('an object given twice is one MESH901 naming both places, and no conflict with itself', async () => {
    const path = join(FIXTURES, 'virtual-service-conflict.yaml');
    const ours = await lint(path);
    const twice = ours.filter((f) => f.code === 'MESH901');
    expect(twice).toHaveLength(1);
    expect(twice[0]!.object).toBe('VirtualService default/reviews');
    expect(twice[0]!.message).toMatch(
      /^VirtualService default\/reviews is defined 2 times: \S+virtual-service-conflict\.yaml:VirtualService\/reviews:\d+, \S+virtual-service-conflict\.yaml:VirtualService\/reviews:\d+; the last one is used$/,
    );
    expect(ours.filter((f) => f.object === 'VirtualService default/reviews' && f.code !== 'MESH901')).toEqual(
      [],
    );
    const theirs = await istioctl('--use-kube=false', '--all-namespaces', path);
    expect(theirs.filter((m) => m.origin === 'VirtualService default/reviews')).toEqual([]);
  });
});

/**
 * The cluster fixtures: each document goes into one test namespace (its own namespace replaced),
 * and `istioctl analyze` reads them back from the apiserver, as `lint --kubeconfig` does.
 */
describe('lint --kubeconfig and istioctl analyze --kubeconfig agree on the same cluster', () => {
  let ns: { name: string; dispose: () => Promise<void> };
  const docs = parseAllDocuments(readFileSync(join(FIXTURES, 'cluster', 'workloads.yaml'), 'utf8')).map(
    (d) => d.toJS() as k8s.KubernetesObject,
  );

  beforeAll(async () => {
    ns = await testNamespace('parity');
    const client = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.patchNamespace(
      { name: ns.name, body: { metadata: { labels: { 'istio-injection': 'enabled' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    for (const o of docs.filter((d) => d.kind !== 'Namespace'))
      await client.create({ ...o, metadata: { ...o.metadata, namespace: ns.name } });
    // istioctl's analyzers read Pods: wait (bounded) until the Deployments have theirs.
    const deployments = docs.filter((d) => d.kind === 'Deployment').length;
    for (let i = 0; i < 120; i++) {
      const pods = await core.listNamespacedPod({ namespace: ns.name });
      if (pods.items.length >= deployments) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`the ${deployments} Deployments in ${ns.name} have no Pods after 60 s`);
  }, 90_000);
  afterAll(async () => ns.dispose());

  test('the same IST codes on the same objects, at the same severity', async () => {
    const theirs = await istioctl('--kubeconfig', cluster.kubeconfigPath, '--namespace', ns.name);
    const ours = (await lint('--kubeconfig', cluster.kubeconfigPath, '--namespace', ns.name)).filter((f) =>
      f.object.includes(` ${ns.name}/`),
    );
    const mine = theirs.filter((m) => m.origin.includes(` ${ns.name}/`));
    const expected = theirKeys(mine, CLUSTER_CODES);
    // What the fixture is for: istioctl says each of these, one object each (both, for pairs).
    expect(expected.map((k) => k.replace(` ${ns.name}/`, ' NS/'))).toEqual([
      'IST0101 Gateway NS/nowhere',
      'IST0101 Sidecar NS/sidecar-nowhere',
      'IST0101 Telemetry NS/telemetry-nowhere',
      'IST0110 Sidecar NS/sidecar-reviews',
      'IST0110 Sidecar NS/sidecar-v1',
      'IST0111 Sidecar NS/sidecar-default',
      'IST0111 Sidecar NS/sidecar-default-2',
      'IST0116 Deployment NS/reviews-v1',
      'IST0127 AuthorizationPolicy NS/policy-nowhere',
      'IST0137 Deployment NS/reviews-v1',
      'IST0145 Gateway NS/shop',
      'IST0145 Gateway NS/shop-copy',
      'IST0150 Service NS/billing-db',
      'IST0159 Telemetry NS/telemetry-reviews',
      'IST0159 Telemetry NS/telemetry-v1',
      'IST0162 Gateway NS/admin',
    ]);
    expect(ourKeys(ours, CLUSTER_CODES)).toEqual(expected);
    for (const t of mine.filter((m) => CLUSTER_CODES.includes(m.code))) {
      const same = ours.filter((f) => f.object === t.origin && f.mirrors.includes(t.code));
      expect(same.map((f) => LEVEL[f.severity])).toContain(t.level);
    }
  });
});
