/**
 * End to end, scenario 3: a fault test as a gate. Users (the simulator's load generator) call
 * `frontend`, which calls `reviews`; half of the users are `end-user: jason`, whom the release's
 * header route sends to the canary reviews-v3. The fault test delays 30% of the canary's header-
 * routed calls by 3 s, with the SLO "p99 ≤ 2.5 s".
 *
 * Faithful to Istio (see operator/adapters/istio-router.ts):
 * - the fault goes on the release's header route (it has one), so only jason's calls to the
 *   canary are delayed, and it is injected by the *caller's* proxy (frontend's);
 * - Istio turns off a route's `timeout` and `retries` while a fault is on it. reviews' own route
 *   has a 500 ms timeout and retries, which the header route copies, and which do nothing during
 *   the fault: the protection has to come from the hop above, the route *to* frontend;
 * - the operator reads the fault window from the caller's report (`reporter="source"`). A call
 *   cancelled during the delay never reaches a workload, so Istio reports it with
 *   `destination_workload="unknown"`: the canary's p99 alone would pass with a timeout for the
 *   wrong reason (the slow calls vanish from its series). The release therefore also gates on the
 *   users' SLO (custom PromQL on the load generator's report of `frontend`), which is what the
 *   fault test is really about.
 *
 * Case A, no timeout on the route to frontend: the delay reaches the users, p99 breaks, and the
 * release rolls back during the fault test.
 * Case B, the route to frontend has `timeout: 2s` and 3 retries with `perTryTimeout: 600ms` on
 * gateway errors: a delayed try is cut after 600 ms and retried (a new call, a new roll of the 30%
 * fault), the users' p99 and success rate hold, and the release is promoted.
 */
import type { CanaryReleaseSpecInput } from '../../api/v1alpha1/canary-release.js';
import { E2eEnv, queryNumber, testFailed, transitions } from './env.js';

const INTERVAL_S = 3;
const users = (metric: string, extra = '') =>
  `${metric}{reporter="source",source_workload="loadgen",destination_service_name="frontend",destination_service_namespace="{{namespace}}"${extra}}`;

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [
    { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
    {
      faultTest: {
        delay: { fixedDelay: '3s', percentage: 30 },
        duration: `${2 * INTERVAL_S}s`,
        latencyP99: { max: '2500ms' },
      },
    },
    { setWeight: 50 },
  ],
  analysis: {
    interval: `${INTERVAL_S}s`,
    threshold: 2,
    successRate: { min: 95 },
    latencyP99: { max: '500ms' },
    metrics: [
      {
        name: 'user-p99-ms',
        query: `histogram_quantile(0.99, sum(rate(${users('istio_request_duration_milliseconds_bucket')}[{{interval}}])) by (le))`,
        max: 2500,
      },
      {
        name: 'user-success-rate',
        query: `sum(rate(${users('istio_requests_total', ',response_code!~"5.*"')}[{{interval}}])) / sum(rate(${users('istio_requests_total')}[{{interval}}])) * 100`,
        min: 95,
      },
    ],
    missingData: { policy: 'Hold' },
  },
};

/** reviews' own route: a timeout and retries that Istio turns off while a fault is on the route. */
const reviewsRoute = {
  timeout: '500ms',
  retries: { attempts: 2, perTryTimeout: '200ms', retryOn: 'gateway-error,connect-failure,refused-stream' },
};

async function runCase(prefix: string, frontendRoute: Record<string, unknown>) {
  const env = await E2eEnv.start({
    prefix,
    services: [
      {
        name: 'frontend',
        routeFields: frontendRoute,
        versions: [{ version: 'v1', latencyMs: 2, calls: [{ host: 'reviews' }] }],
      },
      {
        name: 'reviews',
        routeFields: reviewsRoute,
        versions: [
          { version: 'v1', latencyMs: 5 },
          { version: 'v3', latencyMs: 5 },
        ],
      },
    ],
  });
  try {
    await env.startOperator();
    const load = env.load({
      host: 'frontend',
      rps: 40,
      durationMs: 60_000,
      headersFor: (i): Record<string, string> => (i % 2 === 0 ? { 'end-user': 'jason' } : {}),
    });
    const t0 = Date.now();
    await env.createRelease('reviews-v3', spec);
    let faultRoute: Record<string, unknown> | undefined;
    const { final, trace } = await env.traceUntilFinished('reviews-v3', 'reviews', 60_000, async (s) => {
      if (s?.currentStep === 1 && s.phase === 'Progressing' && !faultRoute) {
        faultRoute = (await env.virtualService('reviews')).spec.http.find(
          (r) => r.name === 'reviews-v3-jason',
        ) as Record<string, unknown> | undefined;
      }
    });
    const elapsed = Date.now() - t0;
    const report = await load.stop();
    // what the callers' proxies reported about the delayed calls to reviews
    const flagged = async (flags: string) =>
      (await queryNumber(
        env.prometheusUrl,
        `sum(istio_requests_total{reporter="source",source_workload="frontend-v1",destination_service_namespace="${env.ns}",response_flags="${flags}"})`,
      )) ?? 0;
    const delayedCompleted = await flagged('DI');
    const delayedCancelled = await flagged('DI,DC');
    return { env, final, trace, elapsed, report, faultRoute, delayedCompleted, delayedCancelled };
  } catch (e) {
    console.log(env.tail());
    await env.dispose();
    throw e;
  }
}

const measured = (s: {
  lastMeasurements?: { name: string; result: string; value?: number }[];
}): Record<string, { result: string; value: number }> =>
  Object.fromEntries(
    (s.lastMeasurements ?? []).map((m) => [m.name, { result: m.result, value: Math.round(m.value ?? NaN) }]),
  );

let env: E2eEnv | undefined;
afterEach(async () => {
  if (env && testFailed()) console.log(env.tail());
  await env?.dispose();
  env = undefined;
});

test('without a timeout on the route to frontend, the delay breaks the p99 SLO and the release rolls back during the fault test', async () => {
  const r = await runCase('e2e-fault-notimeout', { retries: { attempts: 0 } });
  env = r.env;
  console.log(
    `no timeout: ${r.trace.lines.join(' → ')} in ${r.elapsed} ms; measurements ${JSON.stringify(measured(r.final))}; users ${JSON.stringify(r.report.byStatus)}`,
  );
  expect(r.final.phase).toBe('RolledBack');
  expect(transitions(r.final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['AnalysisFailed', 1],
  ]);
  // the fault was on the header route, which carried reviews' 500 ms timeout: Istio ignores it
  expect(r.faultRoute).toMatchObject({
    fault: { delay: { fixedDelay: '3s', percentage: { value: 30 } } },
    timeout: '500ms',
    route: [{ destination: { host: 'reviews', subset: 'v3' } }],
  });
  const m = measured(r.final);
  expect(m['request-duration-p99']?.result).toBe('Fail');
  expect(m['request-duration-p99']?.value).toBeGreaterThan(2500); // far beyond the route's 500 ms timeout
  expect(m['user-p99-ms']?.result).toBe('Fail');
  expect(r.final.history?.at(-1)?.message).toMatch(/canary p99 latency [\d.]+ms is above the maximum 2500ms/);
  expect(r.delayedCompleted).toBeGreaterThan(0);
  expect(r.delayedCancelled).toBe(0);
  // rolled back: stable takes everything (the canary never had a weight), the header route and its fault are gone
  expect(await r.env.weights('reviews')).toStrictEqual(['v1=100']);
  const http = (await r.env.virtualService('reviews')).spec.http;
  expect(http.map((x) => x.name)).toStrictEqual(['health', 'primary']);
  expect(http.some((x) => x.fault)).toBe(false);
});

test('with timeout and retries on the route to frontend, the users keep their SLO through the delay and the release is promoted', async () => {
  const r = await runCase('e2e-fault-timeout', {
    timeout: '2s',
    retries: { attempts: 3, perTryTimeout: '600ms', retryOn: 'gateway-error,connect-failure,refused-stream' },
  });
  env = r.env;
  console.log(
    `timeout + retries: ${r.trace.lines.join(' → ')} in ${r.elapsed} ms; measurements ${JSON.stringify(measured(r.final))}; users ${JSON.stringify(r.report.byStatus)}`,
  );
  expect(r.final.phase).toBe('Succeeded');
  expect(transitions(r.final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['StepAdvanced', 2],
    ['Promoted', 3],
  ]);
  expect(r.faultRoute).toMatchObject({ fault: { delay: { fixedDelay: '3s' } } });
  // the delay really happened, and the users' per-try timeout cut the delayed calls short
  expect(r.delayedCancelled).toBeGreaterThan(0);
  expect(r.delayedCompleted).toBe(0);
  // the users: almost every request answered, and none waited for the 3 s delay
  const total = Object.values(r.report.byStatus).reduce((a, b) => a + b, 0);
  expect((r.report.byStatus['200'] ?? 0) / total).toBeGreaterThan(0.97);
  expect(r.report.latenciesMs.at(-1)).toBeLessThan(3000);
  expect(await r.env.weights('reviews')).toStrictEqual(['v1=0', 'v3=100']);
});
