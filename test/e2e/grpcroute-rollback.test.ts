/**
 * End to end: a gRPC App on a Gateway API mesh releases through its GRPCRoute (synthesized by the
 * constructs: the route's parent is the Service, one Service per version) on the real apiserver,
 * with the operator, the real Prometheus and the traffic simulator (a test stand-in for Envoy)
 * routing gRPC calls by the live GRPCRoute. When the canary starts failing calls with HTTP 200 and
 * `grpc-status: 2`, the release (protocol grpc, the default with a grpcRoute) reads
 * `grpc_response_status` and rolls back; the 5xx-based success rate of the same data is 100%.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { App, Mesh } from '../../constructs/index.js';
import { GRPC_ROUTES, type KubeObject } from '../../operator/adapters/kubernetes.js';
import { renderQuery } from '../../operator/adapters/prometheus.js';
import { E2eEnv, must, queryNumber, sleep, successRateQuery, testFailed } from './env.js';

const PATH = '/shop.Checkout/PlaceOrder';
let env: E2eEnv;

/** `backend=weight` of the GRPCRoute's rule. */
async function routeWeights(name: string, rule: string): Promise<string[]> {
  const r = must(await env.client.get(GRPC_ROUTES, { namespace: env.ns, name })) as KubeObject & {
    spec: { rules: { name?: string; backendRefs?: { name: string; weight?: number }[] }[] };
  };
  const found = r.spec.rules.find((x) => x.name === rule);
  if (!found) throw new Error(`GRPCRoute ${name} has no rule ${rule}`);
  return (found.backendRefs ?? []).map((b) => `${b.name}=${b.weight ?? 1}`);
}

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-grpcroute',
    createObjects: false,
    services: [
      {
        name: 'checkout',
        protocol: 'grpc',
        versionServices: true,
        versions: [{ version: 'v1' }, { version: 'v2' }],
      },
    ],
  });
  const mesh = new Mesh(Testing.app(), 'shop', {
    namespace: env.ns,
    manageNamespace: false,
    trafficApi: 'gateway-api',
  });
  const checkout = new App(mesh, 'checkout', {
    image: 'registry.example/checkout:{version}',
    port: 5050,
    protocol: 'grpc',
    versions: ['v1'],
  });
  checkout.release('v2', {
    // the GRPCRoute stays in the manifests (this test applies it), as before releases owned routes
    ownRoute: false,
    steps: [{ setWeight: 50 }, { pause: { duration: '5m' } }],
    analysis: { interval: '2s', threshold: 2, successRate: { min: 95 }, missingData: { policy: 'Hold' } },
  });
  const objects = Testing.synth(mesh) as k8s.KubernetesObject[];
  const release = objects.find((o) => o.kind === 'CanaryRelease') as unknown as {
    spec: { grpcRoute?: { name: string; rule: string }; protocol?: string };
  };
  expect(release.spec.grpcRoute).toBeDefined();
  expect(objects.some((o) => o.kind === 'VirtualService' || o.kind === 'HTTPRoute')).toBe(false);
  await env.startOperator();
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of [
    ...objects.filter((o) => o.kind !== 'CanaryRelease'),
    ...objects.filter((o) => o.kind === 'CanaryRelease'),
  ])
    await api.create(o, undefined, undefined, 'e2e');
  await env.sim.refresh();
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('a GRPCRoute release whose canary fails gRPC calls at HTTP 200 is rolled back on grpc_response_status', async () => {
  const load = env.load({ host: 'checkout', path: PATH, rps: 60, durationMs: 45_000 });
  const name = 'checkout';
  await env.waitStatus(
    name,
    'a passing check, or the next step (whose first check may not be in yet)',
    (s) => s.lastCheckPassed === true || s.currentStep >= 1,
    30_000,
  );
  const { rule } = ((await env.release(name)).spec as { grpcRoute: { rule: string } }).grpcRoute;
  expect(await routeWeights(name, rule)).toStrictEqual(['checkout-v1=50', 'checkout-v2=50']);

  env.sim.backend('checkout', 'v2').set({ errorRate: 0.3 });
  // the breach as the release's query sees it, and the 5xx-based query on the same data then
  const grpcQuery = renderQuery('istio', 'grpc-request-success-rate', {
    namespace: env.ns,
    workload: 'checkout-v2',
    interval: '2s',
  });
  if (!grpcQuery.ok) throw new Error(grpcQuery.error.message);
  let grpcRate: number | undefined;
  let httpRate: number | undefined;
  for (let i = 0; i < 150 && httpRate === undefined; i++) {
    grpcRate = await queryNumber(env.prometheusUrl, grpcQuery.value);
    if (grpcRate !== undefined && grpcRate < 95)
      httpRate = await queryNumber(env.prometheusUrl, successRateQuery(env.ns, 'checkout-v2', '2s'));
    else await sleep(100);
  }
  console.log(
    `breach: gRPC success rate ${grpcRate?.toFixed(1)}%, HTTP success rate ${httpRate?.toFixed(1)}%`,
  );
  expect(httpRate).toBe(100);
  const final = await env.waitStatus(
    name,
    'RolledBack',
    (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded',
    30_000,
  );
  expect(final.phase).toBe('RolledBack');
  const last = final.history?.[final.history.length - 1];
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', canaryWeight: 0 });
  expect(last?.message).toMatch(/canary success rate [\d.]+% is below the minimum 95%/);
  expect(final.lastMeasurements?.[0]?.value).toBeLessThan(95);
  expect(await routeWeights(name, rule)).toStrictEqual(['checkout-v1=100', 'checkout-v2=0']);

  const report = await load.stop();
  expect(report.byStatus).toStrictEqual({ '200': report.completed });
  expect(report.byGrpcStatus['2']).toBeGreaterThan(0);
  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: 'checkout', path: PATH, rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v1: 50 });
  expect(after.byGrpcStatus).toStrictEqual({ '0': 50 });
});
