/**
 * decide() throughput and latency over a realistic release: a 9-step plan with a header route,
 * a mirror, a fault test and a manual gate, four checks (success rate, p99, comparison with
 * stable, a custom metric), a full status with conditions, measurements and a full history.
 * Run: `npm run bench` (not part of `npm test`). Target: p99 well under 1 ms.
 */
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../api/v1alpha1/canary-release.js';
import { decide } from '../operator/core/decide.js';
import type { Observations } from '../operator/core/types.js';

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.17.0' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [
    { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
    { mirror: { percentage: 50, duration: '2m' } },
    { setWeight: 5 },
    {
      faultTest: { delay: { fixedDelay: '7s', percentage: 100 }, duration: '2m', latencyP99: { max: '8s' } },
    },
    { setWeight: 20 },
    { pause: { duration: '5m' } },
    { setWeight: 50 },
    { pause: {} },
    { setWeight: 80 },
  ],
  analysis: {
    interval: '30s',
    threshold: 3,
    successRate: { min: 99 },
    latencyP99: { max: '500ms' },
    compareToStable: { maxSuccessRateDrop: 1, maxLatencyIncrease: 20 },
    metrics: [{ name: 'error-budget-burn', query: 'sum(rate(x[{{interval}}]))', max: 2 }],
    missingData: { policy: 'FailAfterDeadline', deadline: '5m' },
  },
  webhooks: [{ name: 'chat', url: 'https://chat.example/hook' }],
};

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const status: CanaryReleaseStatus = {
  observedGeneration: 4,
  release: 'reviews/reviews/primary:v1->v3@1.17.0',
  phase: 'Progressing',
  currentStep: 6,
  totalSteps: 9,
  canaryWeight: 50,
  stepStartedAt: iso(0),
  lastCheckAt: iso(30),
  lastCheckPassed: true,
  consecutiveFailures: 0,
  successRate: 99.7,
  lastMeasurements: [
    { name: 'request-success-rate', result: 'Pass', value: 99.7 },
    { name: 'request-duration-p99', result: 'Pass', value: 212 },
    { name: 'request-success-rate-vs-stable', result: 'Pass', value: 99.7, stableValue: 99.8 },
    { name: 'error-budget-burn', result: 'Pass', value: 0.4 },
  ],
  message: 'step 6/9 (setWeight 50)',
  conditions: ['Valid', 'Progressing', 'Healthy'].map((type) => ({
    type,
    status: 'True' as const,
    observedGeneration: 4,
    lastTransitionTime: iso(0),
    reason: 'Ok',
    message: 'ok',
  })),
  history: Array.from({ length: 10 }, (_, i) => ({
    time: iso(i),
    phase: 'Progressing' as const,
    step: i % 7,
    canaryWeight: 20,
    reason: 'StepAdvanced',
    message: `step ${i % 7}/9`,
  })),
};

const value = (v: number) => ({ kind: 'Value' as const, value: v });
const obs = (canaryRate: number): Observations => ({
  generation: 4,
  route: {
    found: true,
    stableWeight: 50,
    canaryWeight: 50,
    headerRoutes: ['jason'],
    mirrorPercentage: 0,
    fault: false,
  },
  canary: { ready: true },
  metrics: {
    'request-success-rate': { canary: value(canaryRate), stable: value(99.8) },
    'request-duration-p99': { canary: value(212), stable: value(190) },
    'error-budget-burn': { canary: value(0.4) },
  },
});

interface Scenario {
  readonly name: string;
  readonly at: number;
  readonly obs: Observations;
}
const scenarios: Scenario[] = [
  { name: 'no check due (watch event)', at: 40, obs: obs(99.7) },
  { name: 'check passes, advances', at: 60, obs: obs(99.7) },
  { name: 'check fails (1/3)', at: 60, obs: obs(97) },
];

function measure(s: Scenario, n: number): { perSec: number; p50: number; p99: number; max: number } {
  const now = new Date(T0 + s.at * 1000);
  for (let i = 0; i < 2_000; i++) decide(spec, status, s.obs, now); // warm-up
  const samples = new Float64Array(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    decide(spec, status, s.obs, now);
    samples[i] = Number(process.hrtime.bigint() - a) / 1e6;
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  samples.sort();
  return {
    perSec: n / total,
    p50: samples[Math.floor(n * 0.5)]!,
    p99: samples[Math.floor(n * 0.99)]!,
    max: samples[n - 1]!,
  };
}

const N = Number(process.env.BENCH_N ?? 20_000);
console.log(
  `decide() over a 9-step release with 4 checks and a full status; ${N} calls per row, Node ${process.version}\n`,
);
console.log('| scenario | decisions/s | p50 (ms) | p99 (ms) | max (ms) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
let worst = 0;
for (const s of scenarios) {
  const r = measure(s, N);
  worst = Math.max(worst, r.p99);
  console.log(
    `| ${s.name} | ${Math.round(r.perSec).toLocaleString('en')} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.max.toFixed(3)} |`,
  );
}
console.log(`\nworst p99 ${worst.toFixed(3)} ms (target < 1 ms): ${worst < 1 ? 'met' : 'NOT met'}`);
