/**
 * End to end on Online Boutique's own gRPC service: `boutiqueWithCanary` (examples/boutique)
 * synthesized twice, into two namespaces of the real apiserver, and the product catalog's objects
 * applied there as synthesized (its Namespace under Pod Security `restricted`, ServiceAccount,
 * Service, two Deployments run by kwok, DestinationRule, and the CanaryRelease, which owns the
 * VirtualService and creates it). The release is the example's own (protocol gRPC, because the
 * App is; steps 20% and 50%; success rate at least 99%), with a 5 s interval instead of 30 s. In one namespace the canary
 * v2 fails 30% of its gRPC calls with HTTP 200 and `grpc-status: 2`; in the other it is healthy.
 * The operator reads `grpc-request-success-rate` (`grpc_response_status`, as the traffic
 * simulator, a test stand-in for Envoy, reports it the way Istio's stats filter does) from the
 * real Prometheus: the failing release is rolled back although every call was HTTP 200 (the
 * 5xx-based success rate of the same data is 100%), and the healthy one is promoted.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { boutiqueWithCanary } from '../../examples/boutique/boutique.js';
import { renderQuery } from '../../operator/adapters/prometheus.js';
import { E2eEnv, queryNumber, sleep, successRateQuery, testFailed, transitions } from './env.js';

const SERVICE = 'productcatalogservice';
const RELEASE = 'productcatalogservice';
const PATH = '/hipstershop.ProductCatalogService/ListProducts';
/**
 * Five of the harness's 1 s scrapes per window. The canary's error series is new when its first
 * error is counted, and rate() needs two samples of it: with a 3 s window, the first check of
 * step 0 could count the successes alone and pass the step on what was only the start of the data.
 */
const INTERVAL = '5s';
/** The example's minimum success rate. */
const MIN_SUCCESS = 99;

let failing: E2eEnv;
let healthy: E2eEnv;

/** One namespace with the synthesized example applied, its operator, and the frontend's calls. */
async function start(prefix: string, canaryErrorRate: number): Promise<E2eEnv> {
  const env = await E2eEnv.start({
    prefix,
    createObjects: false,
    // the product catalog's caller in the example: the frontend (ListProducts is in its ALLOW rule)
    source: { workload: 'frontend-v1', app: 'frontend', serviceAccount: 'frontend' },
    services: [
      {
        name: SERVICE,
        protocol: 'grpc',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3, errorRate: canaryErrorRate },
        ],
      },
    ],
  });
  try {
    const b = boutiqueWithCanary(Testing.app(), 'boutique', {
      namespace: env.ns,
      analysis: { interval: INTERVAL, threshold: 2, successRate: { min: MIN_SUCCESS } },
    });
    const objects = Testing.synth(b.mesh) as k8s.KubernetesObject[];
    const release = objects.find((o) => o.kind === 'CanaryRelease') as
      (k8s.KubernetesObject & { spec: Record<string, unknown> }) | undefined;
    expect(release?.spec).toMatchObject({
      service: SERVICE,
      protocol: 'grpc',
      stable: { subset: 'v1', deployment: 'productcatalogservice-v1' },
      canary: { subset: 'v2', deployment: 'productcatalogservice-v2' },
      steps: [{ setWeight: 20 }, { setWeight: 50 }],
      virtualService: { name: SERVICE, route: 'primary' },
    });
    // the release owns the VirtualService: it is in the release's template, not an object of its own
    expect(objects.some((o) => o.kind === 'VirtualService' && o.metadata?.name === SERVICE)).toBe(false);
    await env.startOperator();
    // The product catalog's own objects as a GitOps tool orders them (its Namespace, which enforces
    // Pod Security `restricted`, and ServiceAccount first; the release last).
    const applied = objects.filter((o) => o.kind === 'Namespace' || o.metadata?.labels?.app === SERVICE);
    expect(applied.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toStrictEqual([
      'CanaryRelease/productcatalogservice',
      'Deployment/productcatalogservice-v1',
      'Deployment/productcatalogservice-v2',
      'DestinationRule/productcatalogservice',
      `Namespace/${env.ns}`,
      'Service/productcatalogservice',
      'ServiceAccount/productcatalogservice',
    ]);
    const rank = (o: k8s.KubernetesObject) =>
      o.kind === 'Namespace' ? 0 : o.kind === 'ServiceAccount' ? 1 : o.kind === 'CanaryRelease' ? 3 : 2;
    const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
    for (const o of applied.sort((a, b) => rank(a) - rank(b)))
      await api.patch(o, undefined, undefined, 'e2e', true, k8s.PatchStrategy.ServerSideApply);
    env.load({ host: SERVICE, path: PATH, rps: 40, durationMs: 150_000 });
    return env;
  } catch (e) {
    await env.dispose();
    throw e;
  }
}

beforeAll(async () => {
  [failing, healthy] = await Promise.all([start('e2e-grpc-fail', 0.3), start('e2e-grpc-ok', 0)]);
});

afterAll(async () => {
  await Promise.all([failing?.dispose(), healthy?.dispose()]);
});

afterEach(() => {
  if (testFailed()) console.log(`failing:\n${failing.tail()}\nhealthy:\n${healthy.tail()}`);
});

test("the example's release on the product catalog is rolled back when v2 answers gRPC errors at HTTP 200; the HTTP success rate would have passed it", async () => {
  const env = failing;
  const grpcQuery = renderQuery('istio', 'grpc-request-success-rate', {
    namespace: env.ns,
    workload: 'productcatalogservice-v2',
    interval: INTERVAL,
  });
  if (!grpcQuery.ok) throw new Error(grpcQuery.error.message);
  // the breach as the release's query sees it, and the 5xx-based query on the same data then
  let grpcRate: number | undefined;
  let httpRate: number | undefined;
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < 300 && httpRate === undefined && Date.now() < deadline; i++) {
    grpcRate = await queryNumber(env.prometheusUrl, grpcQuery.value);
    if (grpcRate !== undefined && grpcRate < MIN_SUCCESS)
      httpRate = await queryNumber(
        env.prometheusUrl,
        successRateQuery(env.ns, 'productcatalogservice-v2', INTERVAL),
      );
    else await sleep(100);
  }
  console.log(
    `breach: gRPC success rate ${grpcRate?.toFixed(1)}%, HTTP success rate ${httpRate?.toFixed(1)}%`,
  );
  expect(grpcRate).toBeLessThan(MIN_SUCCESS);
  expect(httpRate).toBe(100);

  const final = await env.waitStatus(
    RELEASE,
    'RolledBack',
    (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded',
    60_000,
  );
  expect(final.phase).toBe('RolledBack');
  const last = final.history?.[final.history.length - 1];
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', canaryWeight: 0 });
  expect(last?.message).toMatch(/canary success rate [\d.]+% is below the minimum 99%/);
  expect(final.lastMeasurements?.[0]?.result).toBe('Fail');
  expect(final.lastMeasurements?.[0]?.value).toBeLessThan(MIN_SUCCESS);
  // it never got past the first step (20%)
  expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
    ['Started', 0, 20],
    ['AnalysisFailed', 0, 0],
  ]);
  expect(await env.weights(SERVICE)).toStrictEqual(['v1=100', 'v2=0']);

  // every call the frontend made was answered with HTTP 200: the errors were gRPC statuses only
  const report = await env.loads[0]!.stop();
  expect(report.byStatus).toStrictEqual({ '200': report.completed });
  expect(report.byGrpcStatus['2']).toBeGreaterThan(0);

  // the simulator follows the rollback: calls go to stable only
  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: SERVICE, path: PATH, rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v1: 50 });
  expect(after.byGrpcStatus).toStrictEqual({ '0': 50 });
}, 180_000);

test('the same release beside it, with a healthy v2, is promoted: 20%, 50%, then all calls on v2', async () => {
  const env = healthy;
  const final = await env.waitStatus(
    RELEASE,
    'Succeeded',
    (s) => s.phase === 'Succeeded' || s.phase === 'RolledBack',
    90_000,
  );
  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
    ['Started', 0, 20],
    ['StepAdvanced', 1, 50],
    ['Promoted', 2, 100],
  ]);
  expect(await env.weights(SERVICE)).toStrictEqual(['v1=0', 'v2=100']);
  const events = await env.events(RELEASE);
  expect(events.filter((e) => e.reason === 'CheckFailed')).toStrictEqual([]);

  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: SERVICE, path: PATH, rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v2: 50 });
  expect(after.byGrpcStatus).toStrictEqual({ '0': 50 });
}, 180_000);
