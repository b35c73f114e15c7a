/**
 * The Online Boutique example as synthesized (twelve workloads, gRPC and TCP, a client-only load
 * generator, external services, zero trust from its call graph, a CanaryRelease on the gRPC
 * product catalog) on the real parts: every object passes server-side dry-run on the real
 * kube-apiserver, every Pod is admitted in the namespace the example itself labels Pod Security
 * `restricted`, the real `istioctl analyze --use-kube=false` reports nothing, and our own lint of
 * the same file reports only the one expected note.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boutiqueWithCanary } from '../../examples/boutique/boutique.js';
import { buildModel } from '../../mesh/model/load.js';
import { parseYamlObjects } from '../../mesh/model/yaml.js';
import { validate } from '../../mesh/validator/validate.js';
import { cluster, runTool, testNamespace } from '../harness/cluster.js';

type Obj = k8s.KubernetesObject & { spec?: { template?: { metadata?: object; spec?: k8s.V1PodSpec } } };

const synth = (namespace: string) =>
  Testing.synth(boutiqueWithCanary(Testing.app(), 'boutique', { namespace }).mesh) as Obj[];

let kc: k8s.KubeConfig;
let client: k8s.KubernetesObjectApi;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let dir: string;
let file: string;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = k8s.KubernetesObjectApi.makeApiClient(kc);
  ns = await testNamespace('boutique');
  dir = mkdtempSync(join(tmpdir(), 'boutique-'));
  file = join(dir, 'boutique.k8s.yaml');
  writeFileSync(
    file,
    synth('default')
      .map((o) => stringify(o))
      .join('---\n'),
  );
});
afterAll(async () => {
  await ns.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const apply = (o: Obj, dryRun: boolean) =>
  client.patch(
    o,
    undefined,
    dryRun ? 'All' : undefined,
    'cdk8s-mesh-test',
    true,
    k8s.PatchStrategy.ServerSideApply,
  );

test('every object passes server-side dry-run; every Pod is admitted under the restricted label the example sets', async () => {
  const objs = synth(ns.name);
  expect(objs.map((o) => o.kind).sort()).toEqual(
    expect.arrayContaining(['CanaryRelease', 'HorizontalPodAutoscaler', 'ServiceEntry', 'Sidecar']),
  );
  const failures: string[] = [];
  for (const o of objs)
    await apply(o, true).catch((e: k8s.ApiException<string>) =>
      failures.push(`${o.kind}/${o.metadata?.name}: HTTP ${e.code} ${String(e.body).slice(0, 400)}`),
    );
  expect(failures).toEqual([]);

  // The example's own Namespace object carries the Pod Security label: apply it for real.
  const namespace = objs.find((o) => o.kind === 'Namespace')!;
  expect(namespace.metadata?.labels).toMatchObject({
    'pod-security.kubernetes.io/enforce': 'restricted',
    'istio-injection': 'enabled',
  });
  await apply(namespace, false);
  const refused = await client
    .create(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'root', namespace: ns.name },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/x:1' }] },
      },
      undefined,
      'All',
    )
    .then(
      () => 'admitted',
      (e: k8s.ApiException<string>) => `${e.code}`,
    );
  expect(refused).toBe('403');

  // Pods are admitted only with their ServiceAccount present: create those for real.
  for (const sa of objs.filter((o) => o.kind === 'ServiceAccount')) await apply(sa, false);
  const deployments = objs.filter((o) => o.kind === 'Deployment');
  expect(deployments.map((d) => d.metadata!.name).sort()).toEqual([
    'adservice-v1',
    'cartservice-v1',
    'checkoutservice-v1',
    'currencyservice-v1',
    'emailservice-v1',
    'frontend-v1',
    'loadgenerator',
    'paymentservice-v1',
    'productcatalogservice-v1',
    'productcatalogservice-v2',
    'recommendationservice-v1',
    'redis-cart-v1',
    'shippingservice-v1',
  ]);
  const admitted: Record<string, string> = {};
  for (const d of deployments) {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${d.metadata!.name}-probe`, namespace: ns.name, ...d.spec!.template!.metadata },
      spec: d.spec!.template!.spec,
    };
    admitted[d.metadata!.name!] = await client.create(pod, undefined, 'All').then(
      () => 'admitted',
      (e: k8s.ApiException<string>) => `${e.code} ${e.body}`,
    );
  }
  expect(Object.values(admitted).filter((r) => r !== 'admitted')).toEqual([]);
});

test('the real istioctl analyze reports nothing on the synthesized YAML', async () => {
  const res = await runTool('istioctl', ['analyze', '--use-kube=false', '-o', 'json', file]);
  expect(res.code).toBe(0);
  expect(JSON.parse(res.stdout)).toEqual([]);
});

test('our lint of the same file: no error, no warning, only the auto-mTLS note', () => {
  const { objects, problems } = parseYamlObjects(readFileSync(file, 'utf8'), file);
  expect(problems).toEqual([]);
  const findings = validate(buildModel(objects));
  expect(findings.map((f) => `${f.severity} ${f.code} ${f.object}`)).toEqual([
    'info MESH404 PeerAuthentication default/default',
  ]);
});
