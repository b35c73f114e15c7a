/**
 * End to end, scenario 6: Prometheus stops mid-rollout. The operator reads a private Prometheus
 * (started for this file, scraping only this file's traffic simulator), which is stopped while the
 * release is at step 1 of 4. With `missingData: FailAfterDeadline 8s`, the release holds: it
 * neither advances nor promotes while its queries fail, and it rolls back once data has been
 * missing for the deadline.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, type PrometheusInstance } from '../harness/control-plane.js';
import { cluster } from '../harness/cluster.js';
import { E2eEnv, testFailed } from './env.js';

const INTERVAL_S = 3;
const DEADLINE_S = 8;
let env: E2eEnv;
let prom: PrometheusInstance;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-prom-'));
  prom = await startPrometheus(join(cluster.bin, 'prometheus'), dir, dir);
  env = await E2eEnv.start({
    prefix: 'e2e-promdown',
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
        ],
      },
    ],
    prometheusUrl: prom.url,
    scrapeShared: false,
  });
  writeFileSync(
    join(prom.targetsDir, 'sim.json'),
    JSON.stringify([{ targets: [env.sim.metricsAddress], labels: { sim: env.ns } }]),
  );
  await env.startOperator();
  env.load({ host: 'reviews', rps: 40, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('with Prometheus stopped the release holds, never advances or promotes, and rolls back after the missing-data deadline', async () => {
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
      missingData: { policy: 'FailAfterDeadline', deadline: `${DEADLINE_S}s` },
    },
  });
  // healthy on the private Prometheus: step 0 passes its check and the release reaches step 1
  await env.waitStatus('reviews-v2', 'step 1', (s) => s.currentStep === 1, 40_000);
  await prom.stop();
  const stoppedAt = Date.now();

  let missingSince: string | undefined;
  let healthDuringHold: string | undefined;
  const { final, trace } = await env.traceUntilFinished('reviews-v2', 'reviews', 40_000, (s) => {
    if (s?.missingDataSince) missingSince ??= s.missingDataSince;
    if (s?.phase === 'Progressing' && s.missingDataSince)
      healthDuringHold ??= s.conditions?.find((c) => c.type === 'Healthy')?.reason;
  });
  const rolledBackAt = Date.now();
  console.log(
    `Prometheus stopped at step 1: ${trace.lines.join(' → ')}; data missing since ${missingSince}, RolledBack ${rolledBackAt - stoppedAt} ms after the stop`,
  );

  expect(final.phase).toBe('RolledBack');
  // held at step 1 the whole time: no advance, no promotion, weights unchanged until the rollback
  // (which writes the route, then the status: a poll may see the one before the other)
  expect(trace.lines[0]).toBe('Progressing/1 v1=60,v2=40');
  expect(trace.lines.at(-1)).toBe('RolledBack/1 v1=100,v2=0');
  expect(
    trace.lines.filter(
      (l) =>
        !['Progressing/1 v1=60,v2=40', 'Progressing/1 v1=100,v2=0', 'RolledBack/1 v1=100,v2=0'].includes(l),
    ),
  ).toStrictEqual([]);
  expect(healthDuringHold).toBe('MissingData');
  const last = final.history?.at(-1);
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', step: 1, canaryWeight: 0 });
  expect(last?.message).toMatch(/query failed: unavailable/);
  expect(final.lastMeasurements?.[0]).toMatchObject({ name: 'request-success-rate', result: 'QueryFailed' });
  expect(final.history?.some((h) => h.phase === 'Succeeded')).toBe(false);
  // not before the deadline, and at the first check after it
  expect(missingSince).toBeDefined();
  const heldMs = Date.parse(last!.time) - Date.parse(missingSince!);
  expect(heldMs).toBeGreaterThanOrEqual(DEADLINE_S * 1000);
  expect(heldMs).toBeLessThanOrEqual((DEADLINE_S + INTERVAL_S) * 1000 + 1000);
  expect(rolledBackAt - stoppedAt).toBeLessThanOrEqual((DEADLINE_S + 2 * INTERVAL_S) * 1000 + 2000);
  expect(await env.weights('reviews')).toStrictEqual(['v1=100', 'v2=0']);
});
