/**
 * End to end, scenario 2: a canary that starts answering 20% 5xx is rolled back within two
 * analysis intervals (threshold 2: two failed checks in a row) of the breach being visible in
 * Prometheus. A behavioural bound, not a timing test: the exact latency is measured by
 * `bench/rollback.bench.ts`.
 *
 * "Visible" is measured the way the operator sees it: the operator's own success-rate query
 * (destination reporter, the canary workload, rate over one interval) polled on the same
 * Prometheus every 100 ms; the moment it first answers below the minimum is t0. The rollback is
 * the moment the status turns RolledBack (polled every 50 ms).
 */
import { E2eEnv, queryNumber, sleep, successRateQuery, testFailed } from './env.js';

const INTERVAL_S = 3;
const THRESHOLD = 2;
const MIN_SUCCESS = 95;
const SLACK_MS = 2000;
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-errors',
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 4 },
          { version: 'v3', latencyMs: 4 },
        ],
      },
    ],
  });
  await env.startOperator();
  env.load({ host: 'reviews', rps: 60, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('a canary answering 20% 5xx is rolled back within two intervals of the breach being visible in Prometheus', async () => {
  await env.createRelease('reviews-v3', {
    service: 'reviews',
    stable: { subset: 'v1', deployment: 'reviews-v1' },
    canary: { subset: 'v3', deployment: 'reviews-v3' },
    virtualService: { name: 'reviews', route: 'primary' },
    steps: [{ setWeight: 50 }, { pause: { duration: '5m' } }, { setWeight: 80 }],
    analysis: {
      interval: `${INTERVAL_S}s`,
      threshold: THRESHOLD,
      successRate: { min: MIN_SUCCESS },
      missingData: { policy: 'Hold' },
    },
  });
  // healthy first: a check passes with the canary at 50%
  await env.waitStatus('reviews-v3', 'a passing check', (s) => s.lastCheckPassed === true, 30_000);
  expect(await env.weights('reviews')).toStrictEqual(['v1=50', 'v3=50']);

  env.sim.backend('reviews', 'v3').set({ errorRate: 0.2 });
  const query = successRateQuery(env.ns, 'reviews-v3', `${INTERVAL_S}s`);
  let visibleAt = 0;
  let visibleValue = NaN;
  for (let i = 0; i < 300 && !visibleAt; i++) {
    const v = await queryNumber(env.prometheusUrl, query);
    if (v !== undefined && v < MIN_SUCCESS) {
      visibleAt = Date.now();
      visibleValue = v;
    } else await sleep(100);
  }
  expect(visibleAt).toBeGreaterThan(0);

  let rolledBackAt = 0;
  const final = await env.waitStatus(
    'reviews-v3',
    'RolledBack',
    (s) => {
      if (s.phase === 'RolledBack' || s.phase === 'Succeeded') rolledBackAt ||= Date.now();
      return s.phase === 'RolledBack' || s.phase === 'Succeeded';
    },
    30_000,
    50,
  );
  const latency = rolledBackAt - visibleAt;
  const bound = THRESHOLD * INTERVAL_S * 1000 + SLACK_MS;
  console.log(
    `breach visible (success ${visibleValue.toFixed(1)}% < ${MIN_SUCCESS}%) → RolledBack in ${latency} ms (bound ${bound} ms = ${THRESHOLD} × ${INTERVAL_S} s + ${SLACK_MS} ms)`,
  );

  expect(final.phase).toBe('RolledBack');
  expect(latency).toBeLessThanOrEqual(bound);
  const last = final.history?.[final.history.length - 1];
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', canaryWeight: 0 });
  expect(last?.message).toMatch(
    /check failed 2\/2 times in a row .*canary success rate [\d.]+% is below the minimum 95%/,
  );
  expect(final.lastMeasurements?.[0]).toMatchObject({ name: 'request-success-rate', result: 'Fail' });
  expect(final.lastMeasurements?.[0]?.value).toBeLessThan(MIN_SUCCESS);
  expect(await env.weights('reviews')).toStrictEqual(['v1=100', 'v3=0']);
  const events = await env.events('reviews-v3', ['CheckFailed', 'AnalysisFailed']);
  expect(
    events.filter((e) => e.reason === 'CheckFailed' && e.type === 'Warning').length,
  ).toBeGreaterThanOrEqual(1);
  expect(events.some((e) => e.reason === 'AnalysisFailed' && e.type === 'Warning')).toBe(true);

  // the simulator follows the rollback: traffic goes to stable only
  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: 'reviews', rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v1: 50 });
});
