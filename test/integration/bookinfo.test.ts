/**
 * Every Bookinfo scenario, as synthesized, passes the real istioctl analyze and server-side
 * dry-run on the real kube-apiserver (Istio and cert-manager CRDs installed), in a namespace that
 * enforces Pod Security `restricted`; the platform, applied for real, becomes available Pods.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../examples/bookinfo/bookinfo.js';
import { cluster, runTool, testNamespace } from '../harness/cluster.js';

type Obj = k8s.KubernetesObject & { spec?: { template?: { metadata?: object; spec?: k8s.V1PodSpec } } };

const scenarios = Object.keys(SCENARIOS) as ScenarioName[];

/**
 * istioctl warnings a scenario is known to carry, with the reason; anything else fails the test.
 * Errors are never allowed.
 */
const KNOWN_WARNINGS: Partial<Record<ScenarioName, Record<string, string>>> = {
  'details-abort': {
    IST0130:
      'upstream fault-injection-details-v1.yaml puts a match-all fault route before its catch-all, so rule #1 is unreachable',
  },
  resilience: { IST0133: 'Istio warns about every EnvoyFilter; a local rate limit has no first-class API' },
};

function synth(name: ScenarioName, namespace: string): Obj[] {
  const app = Testing.app();
  const { mesh } = buildScenario(app, name, { namespace });
  return Testing.synth(mesh) as Obj[];
}

let kc: k8s.KubeConfig;
let client: k8s.KubernetesObjectApi;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let dir: string;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = k8s.KubernetesObjectApi.makeApiClient(kc);
  ns = await testNamespace('bookinfo');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.patchNamespace(
    { name: ns.name, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  // Certificates for gateways live where the ingress gateway runs.
  await core.createNamespace({ body: { metadata: { name: 'istio-system' } } }).catch(() => undefined);
  dir = mkdtempSync(join(tmpdir(), 'bookinfo-'));
});
afterAll(async () => {
  await ns.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function dryRunApply(obj: Obj): Promise<string | undefined> {
  try {
    await client.patch(obj, undefined, 'All', 'cdk8s-mesh-test', true, k8s.PatchStrategy.ServerSideApply);
    return undefined;
  } catch (e) {
    const err = e as k8s.ApiException<string>;
    return `${obj.kind}/${obj.metadata?.name}: HTTP ${err.code} ${String(err.body).slice(0, 400)}`;
  }
}

describe.each(scenarios)('scenario %s', (name) => {
  test('passes server-side dry-run on the real apiserver, its pods admitted under Pod Security restricted', async () => {
    const objs = synth(name, ns.name);
    const failures = (await Promise.all(objs.map(dryRunApply))).filter(Boolean);
    expect(failures).toEqual([]);

    // Pods are admitted only with their ServiceAccount present: create those for real.
    for (const sa of objs.filter((o) => o.kind === 'ServiceAccount')) {
      await client.patch(
        sa,
        undefined,
        undefined,
        'cdk8s-mesh-test',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    }
    const pods = objs.filter((o) => o.kind === 'Deployment');
    expect(pods.length).toBeGreaterThan(0);
    for (const d of pods) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${d.metadata!.name}-probe`, namespace: ns.name, ...d.spec!.template!.metadata },
        spec: d.spec!.template!.spec,
      };
      const res = await client.create(pod, undefined, 'All').then(
        () => 'admitted',
        (e: k8s.ApiException<string>) => `${e.code} ${e.body}`,
      );
      expect(res).toBe('admitted');
    }
  });

  test('passes the real istioctl analyze with no errors and no unexplained warnings', async () => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      synth(name, 'default')
        .map((o) => stringify(o))
        .join('---\n'),
    );
    const res = await runTool('istioctl', ['analyze', '--use-kube=false', '-o', 'json', file]);
    const findings = JSON.parse(res.stdout) as { level: string; code: string; message: string }[];
    expect(findings.filter((f) => f.level === 'Error')).toEqual([]);
    const unexplained = findings.filter((f) => f.level === 'Warning' && !KNOWN_WARNINGS[name]?.[f.code]);
    expect(unexplained).toEqual([]);
  });
});

test('the namespace really enforces restricted: a root Pod is refused', async () => {
  const res = await client
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
      (e: k8s.ApiException<string>) => `${e.code} ${(JSON.parse(e.body) as { message: string }).message}`,
    );
  expect(res).toMatch(/^403 pods "root" is forbidden: violates PodSecurity "restricted:latest"/);
});

test('the platform applied for real: every Bookinfo Deployment becomes available on the fake nodes', async () => {
  const target = await testNamespace('bookinfo-live');
  try {
    const objs = synth('platform', target.name).filter((o) => o.kind !== 'Namespace');
    for (const o of objs) {
      await client.patch(o, undefined, undefined, 'cdk8s-mesh-test', true, k8s.PatchStrategy.ServerSideApply);
    }
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const want = objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata!.name!);
    expect(want.sort()).toEqual([
      'details-v1',
      'productpage-v1',
      'ratings-v1',
      'reviews-v1',
      'reviews-v2',
      'reviews-v3',
    ]);
    let available: string[] = [];
    for (let i = 0; i < 120 && available.length < want.length; i++) {
      const list = await apps.listNamespacedDeployment({ namespace: target.name });
      available = list.items
        .filter((d) => (d.status?.availableReplicas ?? 0) >= 1)
        .map((d) => d.metadata!.name!);
      if (available.length < want.length) await new Promise((r) => setTimeout(r, 500));
    }
    expect(available.sort()).toEqual(want);
  } finally {
    await target.dispose();
  }
});
