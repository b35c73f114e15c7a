/**
 * End to end: a gRPC service released on a VirtualService is rolled back when its canary fails
 * gRPC calls with HTTP 200 and `grpc-status: 2`, which a 5xx-based success rate never sees. The
 * release sets `protocol: grpc`, so the operator reads `grpc-request-success-rate`
 * (`grpc_response_status`, as the traffic simulator, a test stand-in for Envoy, reports it the
 * way Istio's stats filter does) from the real Prometheus; the route is on the real apiserver.
 */
import { renderQuery } from '../../operator/adapters/prometheus.js';
import { E2eEnv, queryNumber, sleep, successRateQuery, testFailed } from './env.js';

const INTERVAL = '3s';
const MIN_SUCCESS = 95;
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-grpc',
    services: [
      {
        name: 'checkout',
        protocol: 'grpc',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
        ],
      },
    ],
  });
  await env.startOperator();
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('a gRPC canary answering gRPC errors at HTTP 200 is rolled back; the HTTP success rate would have passed it', async () => {
  const load = env.load({ host: 'checkout', path: '/shop.Checkout/PlaceOrder', rps: 60, durationMs: 60_000 });
  await env.createRelease('checkout-v2', {
    service: 'checkout',
    protocol: 'grpc',
    stable: { subset: 'v1', deployment: 'checkout-v1' },
    canary: { subset: 'v2', deployment: 'checkout-v2' },
    virtualService: { name: 'checkout', route: 'primary' },
    steps: [{ setWeight: 50 }, { pause: { duration: '5m' } }, { setWeight: 80 }],
    analysis: {
      interval: INTERVAL,
      threshold: 2,
      successRate: { min: MIN_SUCCESS },
      missingData: { policy: 'Hold' },
    },
  });
  // healthy first: a check passes with the canary at 50%
  await env.waitStatus('checkout-v2', 'a passing check', (s) => s.lastCheckPassed === true, 30_000);
  expect(await env.weights('checkout')).toStrictEqual(['v1=50', 'v2=50']);

  env.sim.backend('checkout', 'v2').set({ errorRate: 0.3 });
  const grpcQuery = renderQuery('istio', 'grpc-request-success-rate', {
    namespace: env.ns,
    workload: 'checkout-v2',
    interval: INTERVAL,
  });
  if (!grpcQuery.ok) throw new Error(grpcQuery.error.message);
  // the breach as the gRPC query sees it, and the HTTP query on the same data at that moment
  let grpcRate: number | undefined;
  let httpRate: number | undefined;
  for (let i = 0; i < 150; i++) {
    grpcRate = await queryNumber(env.prometheusUrl, grpcQuery.value);
    if (grpcRate !== undefined && grpcRate < MIN_SUCCESS) {
      httpRate = await queryNumber(env.prometheusUrl, successRateQuery(env.ns, 'checkout-v2', INTERVAL));
      break;
    }
    await sleep(100);
  }
  console.log(
    `breach: gRPC success rate ${grpcRate?.toFixed(1)}%, HTTP success rate ${httpRate?.toFixed(1)}%`,
  );
  expect(grpcRate).toBeLessThan(MIN_SUCCESS);
  expect(httpRate).toBe(100);

  const final = await env.waitStatus(
    'checkout-v2',
    'RolledBack',
    (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded',
    30_000,
  );
  expect(final.phase).toBe('RolledBack');
  const last = final.history?.[final.history.length - 1];
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', canaryWeight: 0 });
  expect(last?.message).toMatch(/canary success rate [\d.]+% is below the minimum 95%/);
  expect(final.lastMeasurements?.[0]?.result).toBe('Fail');
  expect(final.lastMeasurements?.[0]?.value).toBeLessThan(MIN_SUCCESS);
  expect(await env.weights('checkout')).toStrictEqual(['v1=100', 'v2=0']);

  // every call the caller made was answered with HTTP 200: the errors were gRPC statuses only
  const report = await load.stop();
  expect(report.byStatus).toStrictEqual({ '200': report.completed });
  expect(report.byGrpcStatus['2']).toBeGreaterThan(0);

  // the simulator follows the rollback: calls go to stable only
  await env.sim.refresh();
  const after = await env.sim.runLoad({
    host: 'checkout',
    path: '/shop.Checkout/PlaceOrder',
    rps: 100,
    requests: 50,
  });
  expect(after.byVersion).toStrictEqual({ v1: 50 });
  expect(after.byGrpcStatus).toStrictEqual({ '0': 50 });
});
