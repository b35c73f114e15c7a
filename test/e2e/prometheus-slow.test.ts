/**
 * End to end: Prometheus answers, but too late. The operator reads Prometheus through a loopback
 * proxy (test/harness/slow-proxy.ts) that, mid-release, holds every query 4 s while the operator
 * gives a query 1.5 s. With `missingData: Hold`, the release holds at its step: no advance and no
 * promotion on the missing data, the weights untouched, the measurement a timeout. The operator
 * abandons each timed-out query (it closes the connection): the queries it keeps open at once stay
 * at one check's worth, and it sends no more than one check's queries per interval, however long
 * Prometheus stays slow. Once answers come in time again, the release goes on from the same step
 * and is promoted, every step recorded once.
 */
import { SlowProxy } from '../harness/slow-proxy.js';
import { reportFigures } from '../harness/figures.js';
import { cluster } from '../harness/cluster.js';
import { E2eEnv, sleep, testFailed, transitions } from './env.js';

const INTERVAL_S = 2;
const SLOW_MS = 4000;
const SLOW_FOR_MS = 12_000;
/** A check of `successRate` alone is one query (`request-success-rate` of the canary). */
const QUERIES_PER_CHECK = 1;
let env: E2eEnv;
let proxy: SlowProxy;

beforeAll(async () => {
  proxy = await SlowProxy.start(cluster.prometheusUrl);
  env = await E2eEnv.start({
    prefix: 'e2e-promslow',
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
        ],
      },
    ],
    prometheusUrl: proxy.url,
  });
  await env.startOperator(); // a query may take 1.5 s
  env.load({ host: 'reviews', rps: 40, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
  await proxy?.stop();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('queries answered after the timeout: the release holds on its step, queries do not pile up, and it goes on once answers are in time', async () => {
  await env.createRelease('reviews-v2', {
    service: 'reviews',
    stable: { subset: 'v1', deployment: 'reviews-v1' },
    canary: { subset: 'v2', deployment: 'reviews-v2' },
    virtualService: { name: 'reviews', route: 'primary' },
    steps: [{ setWeight: 20 }, { setWeight: 40 }, { setWeight: 60 }, { setWeight: 80 }],
    analysis: {
      interval: `${INTERVAL_S}s`,
      threshold: 1,
      successRate: { min: 95 },
      missingData: { policy: 'Hold' },
    },
  });
  await env.waitStatus('reviews-v2', 'step 1', (s) => s.currentStep === 1, 40_000);
  // step 1's first check is due an interval after the step started: Prometheus turns slow before it
  proxy.delayMs = SLOW_MS;
  proxy.resetStats();
  const slowFrom = Date.now();
  const seen = new Set<string>();
  let healthReason: string | undefined;
  let measurement: { result?: string; message?: string } | undefined;
  while (Date.now() - slowFrom < SLOW_FOR_MS) {
    const s = await env.status('reviews-v2');
    seen.add(`${s?.phase}/${s?.currentStep} ${(await env.weights('reviews')).join(',')}`);
    if (s?.missingDataSince) {
      healthReason = s.conditions?.find((c) => c.type === 'Healthy')?.reason;
      measurement = s.lastMeasurements?.[0] as typeof measurement;
    }
    await sleep(100);
  }
  const slow = proxy.stats;
  proxy.delayMs = 0;
  const { final, trace } = await env.traceUntilFinished('reviews-v2', 'reviews', 40_000);
  console.log(
    `slow for ${SLOW_FOR_MS} ms: ${JSON.stringify(slow)}; states while slow: ${[...seen].join(' | ')}; measurement: ${JSON.stringify(measurement)}; then ${trace.lines.join(' → ')}`,
  );

  // held on step 1 with step 1's weights the whole time: no advance, no promotion on missing data
  expect([...seen]).toStrictEqual(['Progressing/1 v1=60,v2=40']);
  expect(healthReason).toBe('MissingData');
  expect(measurement?.result).toBe('QueryFailed');
  expect(JSON.stringify(measurement)).toMatch(/did not answer within 1500 ms/);
  // every slow query was abandoned by the operator at its timeout; none answered, none left open
  expect(slow.requests).toBeGreaterThan(0);
  expect(slow.answered).toBe(0);
  expect(slow.abandoned).toBe(slow.requests - slow.open);
  // no pile-up: at most one check's queries open at once, at most one check per interval
  expect(slow.maxOpen).toBeLessThanOrEqual(QUERIES_PER_CHECK);
  expect(slow.requests).toBeLessThanOrEqual(
    QUERIES_PER_CHECK * (Math.floor(SLOW_FOR_MS / (INTERVAL_S * 1000)) + 2),
  );

  // answers in time again: the release goes on from step 1 and is promoted, no step lost
  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['StepAdvanced', 2],
    ['StepAdvanced', 3],
    ['Promoted', 4],
  ]);
  expect(final.history?.some((h) => h.phase === 'RolledBack')).toBe(false);
  reportFigures({
    fault: 'Prometheus slow (answers after the query timeout)',
    count: `queries held ${SLOW_MS} ms against a 1.5 s timeout for ${SLOW_FOR_MS} ms`,
    outcome: `${slow.requests} queries sent, ${slow.abandoned} abandoned at the timeout, at most ${slow.maxOpen} open; held on step 1, then ${final.phase}`,
  });
});
