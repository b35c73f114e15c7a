/**
 * End to end, scenario 4: an A/B stage with a header route, then weights. While the canary's
 * weight is 0, every request carrying the header reaches the canary and every other request
 * reaches stable; then the weights shift (30, 60) with the header route kept, and the canary is
 * promoted. Requests are routed by the traffic simulator (a test stand-in for Envoy) from the live
 * VirtualService the operator writes.
 */
import { E2eEnv, sample, testFailed, transitions } from './env.js';

const INTERVAL_S = 3;
const HEADER = { 'x-group': 'b' };
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-ab',
    services: [
      {
        name: 'ratings',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
        ],
      },
    ],
  });
  await env.startOperator();
  env.load({
    host: 'ratings',
    rps: 50,
    durationMs: 90_000,
    headersFor: (i) => (i % 3 === 0 ? HEADER : {}),
  });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('A/B: with weights at 0 the header reaches the canary and nothing else does; then the weights shift', async () => {
  await env.createRelease('ratings-v2', {
    service: 'ratings',
    stable: { subset: 'v1', deployment: 'ratings-v1' },
    canary: { subset: 'v2', deployment: 'ratings-v2' },
    virtualService: { name: 'ratings', route: 'primary' },
    steps: [
      { headerRoute: { name: 'group-b', headers: { 'x-group': { exact: 'b' } } } },
      { pause: { duration: `${INTERVAL_S + 2}s` } },
      { setWeight: 30 },
      { pause: { duration: `${INTERVAL_S + 2}s` } },
      { setWeight: 60 },
    ],
    analysis: {
      interval: `${INTERVAL_S}s`,
      threshold: 2,
      successRate: { min: 95 },
      missingData: { policy: 'Hold' },
    },
  });

  type Sampled = { step: number; withHeader: Record<string, number>; without: Record<string, number> };
  const samples = new Map<number, Sampled>();
  const { final, trace } = await env.traceUntilFinished('ratings-v2', 'ratings', 90_000, async (s) => {
    // sample during the two pauses: the A/B stage (weight 0) and the hold at weight 30
    if (!s || s.phase !== 'Progressing' || (s.currentStep !== 1 && s.currentStep !== 3)) return;
    if (samples.has(s.currentStep)) return;
    await env.sim.refresh();
    const withHeader = await sample(env.sim, 'ratings', 40, HEADER);
    const without = await sample(env.sim, 'ratings', s.currentStep === 1 ? 60 : 300);
    const after = await env.status('ratings-v2');
    // the route must not have moved while sampling, or the sample says nothing
    expect(after?.currentStep).toBe(s.currentStep);
    samples.set(s.currentStep, { step: s.currentStep, withHeader, without });
  });
  console.log(`A/B release: ${trace.lines.join(' → ')}; samples ${JSON.stringify([...samples.values()])}`);

  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
    ['Started', 0, 0],
    ['StepAdvanced', 1, 0],
    ['StepAdvanced', 2, 30],
    ['StepAdvanced', 3, 30],
    ['StepAdvanced', 4, 60],
    ['Promoted', 5, 100],
  ]);
  // A/B stage: weights 0, the header alone decides
  const ab = samples.get(1);
  expect(ab?.withHeader).toStrictEqual({ v2: 40 });
  expect(ab?.without).toStrictEqual({ v1: 60 });
  // weights 70/30: the header still reaches the canary; the rest is split by weight
  const w30 = samples.get(3);
  expect(w30?.withHeader).toStrictEqual({ v2: 40 });
  const share = (w30?.without.v2 ?? 0) / 300;
  expect(share).toBeGreaterThan(0.18);
  expect(share).toBeLessThan(0.42);
  expect((w30?.without.v1 ?? 0) + (w30?.without.v2 ?? 0)).toBe(300);
  expect(trace.lines).toContain('Progressing/1 v1=100');
  expect(trace.lines).toContain('Progressing/3 v1=70,v2=30');
  expect(trace.lines).toContain('Progressing/4 v1=40,v2=60');
  // promoted: everything to the canary, the header route removed
  expect(await env.weights('ratings')).toStrictEqual(['v1=0', 'v2=100']);
  expect((await env.virtualService('ratings')).spec.http.map((r) => r.name)).toStrictEqual([
    'health',
    'primary',
  ]);
});
