/**
 * Proves that every part of the test control plane is the real thing: the apiserver validates
 * against the Istio and Gateway API CRD schemas (the CEL rules too), the controllers and kwok turn a Deployment into available Pods,
 * istioctl analyzes, Prometheus scrapes, and RBAC is enforced.
 */
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addScrapeTarget, cluster, runTool, testNamespace } from '../harness/cluster.js';
import { ensurePodCapacity, fakeNodeName, PODS_PER_FAKE_NODE } from '../harness/fake-nodes.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  ns = await testNamespace('cp');
});
afterAll(async () => ns.dispose());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function virtualService(name: string, weight: unknown): k8s.KubernetesObject & { spec: unknown } {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: ns.name },
    spec: {
      hosts: ['reviews'],
      http: [
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight },
            { destination: { host: 'reviews', subset: 'v3' }, weight: 20 },
          ],
        },
      ],
    },
  };
}

describe('kube-apiserver with the Istio CRDs', () => {
  test('rejects on server-side dry-run a VirtualService whose weight is not an integer, with the CRD schema error', async () => {
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const err = await client.create(virtualService('bad', 'eighty'), undefined, 'All').then(
      () => undefined,
      (e: unknown) => e as k8s.ApiException<string>,
    );
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect(err!.code).toBe(422);
    expect(String(err!.body)).toContain('spec.http[0].route[0].weight');
    expect(String(err!.body)).toMatch(/must be of type integer/);
  });

  test('accepts the same VirtualService with an integer weight, and dry-run stores nothing', async () => {
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const created = await client.create(virtualService('good', 80), undefined, 'All');
    expect(created.metadata?.name).toBe('good');
    const list = await client.list('networking.istio.io/v1', 'VirtualService', ns.name);
    expect(list.items).toHaveLength(0);
  });
});

function httpRoute(name: string, path: string): k8s.KubernetesObject & { spec: unknown } {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns.name },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: path } }],
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 90 },
            { name: 'reviews-v3', port: 9080, weight: 10 },
          ],
        },
      ],
    },
  };
}

describe('kube-apiserver with the Gateway API CRDs', () => {
  test('serves the Gateway API at the bundle version Istio 1.30 requires, standard channel', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = await ext.readCustomResourceDefinition({ name: 'httproutes.gateway.networking.k8s.io' });
    expect(crd.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version']).toMatch(/^v1\.5\.\d+$/);
    expect(crd.metadata?.annotations?.['gateway.networking.k8s.io/channel']).toBe('standard');
    const kinds = await Promise.all(
      ['gateways', 'gatewayclasses', 'grpcroutes', 'referencegrants'].map(
        async (p) =>
          (await ext.readCustomResourceDefinition({ name: `${p}.gateway.networking.k8s.io` })).spec.names
            .kind,
      ),
    );
    expect(kinds).toEqual(['Gateway', 'GatewayClass', 'GRPCRoute', 'ReferenceGrant']);
  });

  test('rejects on server-side dry-run an HTTPRoute whose path match is not absolute, with the CEL message', async () => {
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const err = await client.create(httpRoute('bad', 'reviews'), undefined, 'All').then(
      () => undefined,
      (e: unknown) => e as k8s.ApiException<string>,
    );
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect(err!.code).toBe(422);
    expect(String(err!.body)).toContain('value must be an absolute path and start with');
  });

  test('accepts an HTTPRoute with a Service parent and weighted backendRefs', async () => {
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const created = await client.create(httpRoute('good', '/reviews'), undefined, 'All');
    expect(created.metadata?.name).toBe('good');
  });
});

describe('controllers, scheduler and kwok', () => {
  test('a Deployment with 2 replicas reaches availableReplicas 2 on the fake nodes', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
          },
        },
      },
    });
    let available = 0;
    for (let i = 0; i < 120 && available < 2; i++) {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
      available = d.status?.availableReplicas ?? 0;
      if (available < 2) await sleep(500);
    }
    expect(available).toBe(2);
    const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: ns.name });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.phase).toBe('Running');
    }
  });

  test('adds a fake node on demand when the pods asked for do not fit, and runs a pod on it', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const fake = (await core.listNode()).items.filter(
      (n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake',
    );
    const running = (
      await core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })
    ).items.length;
    // Ask for exactly one node's worth of pods more than the fake nodes hold now.
    const extra = (fake.length + 1) * PODS_PER_FAKE_NODE - running;
    const got = await ensurePodCapacity(kc, extra);
    expect(got.nodes).toBeGreaterThanOrEqual(fake.length + 1);
    const name = fakeNodeName(fake.length);
    const node = await core.readNode({ name });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.allocatable?.pods).toBe(String(PODS_PER_FAKE_NODE));

    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'on-new-node' },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': name },
          containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
        },
      },
    });
    let phase: string | undefined;
    for (let i = 0; i < 120 && phase !== 'Running'; i++) {
      phase = (await core.readNamespacedPod({ name: 'on-new-node', namespace: ns.name })).status?.phase;
      if (phase !== 'Running') await sleep(500);
    }
    expect(phase).toBe('Running');
    const pod = await core.readNamespacedPod({ name: 'on-new-node', namespace: ns.name });
    expect(pod.spec?.nodeName).toBe(name);
  });
});

describe('RBAC', () => {
  test('a request impersonating a ServiceAccount without a Role is refused with 403', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const admin = kc.getCurrentUser()!;
    const impersonating = new k8s.KubeConfig();
    impersonating.loadFromOptions({
      clusters: kc.clusters,
      users: [{ ...admin, name: 'imp', impersonateUser: `system:serviceaccount:${ns.name}:nobody` }],
      contexts: [{ name: 'imp', cluster: kc.getCurrentCluster()!.name, user: 'imp' }],
      currentContext: 'imp',
    });
    const err = await impersonating
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace: ns.name })
      .then(
        () => undefined,
        (e: unknown) => e as k8s.ApiException<string>,
      );
    expect(err?.code).toBe(403);
    expect(String(err?.body)).toContain(`system:serviceaccount:${ns.name}:nobody`);
    // The admin can, so the refusal is RBAC and not a broken request.
    await expect(core.listNamespacedPod({ namespace: ns.name })).resolves.toBeDefined();
  });
});

describe('Prometheus', () => {
  let server: Server;
  let removeTarget: () => void = () => undefined;
  afterAll(async () => {
    removeTarget();
    await new Promise((r) => server?.close(r));
  });

  test('scrapes a metrics endpoint served by the test and answers a PromQL query with its value', async () => {
    const value = 4242 + (process.pid % 100);
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# TYPE cdk8s_mesh_probe gauge\ncdk8s_mesh_probe{probe="control-plane"} ${value}\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    removeTarget = addScrapeTarget(`probe-${process.pid}`, `127.0.0.1:${port}`, { run: ns.name });

    const query = encodeURIComponent(`cdk8s_mesh_probe{run="${ns.name}"}`);
    let got: string | undefined;
    for (let i = 0; i < 60 && got === undefined; i++) {
      const res = await fetch(`${cluster.prometheusUrl}/api/v1/query?query=${query}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      got = body.data.result[0]?.value[1];
      if (got === undefined) await sleep(500);
    }
    expect(got).toBe(String(value));
  });
});

describe('istioctl', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'analyze-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const service = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  selector: { app: reviews }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: reviews-v1, namespace: default }
spec:
  selector: { matchLabels: { app: reviews, version: v1 } }
  template:
    metadata: { labels: { app: reviews, version: v1 } }
    spec: { containers: [{ name: reviews, image: example/reviews:v1 }] }
`;
  const rule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }]
`;
  const vs = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: ${subset} } }] }]
`;

  async function analyze(files: Record<string, string>) {
    const paths = Object.entries(files).map(([name, text]) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    });
    const res = await runTool('istioctl', ['analyze', '--use-kube=false', '-o', 'json', ...paths]);
    return {
      ...res,
      findings: JSON.parse(res.stdout || '[]') as { code: string; level: string; message: string }[],
    };
  }

  test('analyze --use-kube=false reports IST0101 for a route to a subset no DestinationRule defines', async () => {
    const res = await analyze({ 'svc.yaml': service, 'dr.yaml': rule, 'vs.yaml': vs('v9') });
    const ist0101 = res.findings.filter((f) => f.code === 'IST0101');
    expect(ist0101).toHaveLength(1);
    expect(ist0101[0]!.message).toContain(
      'Referenced host+subset in destinationrule not found: "reviews+v9"',
    );
    expect(ist0101[0]).toMatchObject({ level: 'Error', origin: 'VirtualService default/reviews' });
  });

  test('analyze --use-kube=false reports nothing for a correct pair', async () => {
    const res = await analyze({ 'svc.yaml': service, 'dr.yaml': rule, 'vs.yaml': vs('v1') });
    expect(res.findings).toEqual([]);
  });
});
