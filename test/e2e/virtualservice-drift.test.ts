/**
 * End to end, scenario 7: someone else edits the VirtualService mid-rollout (a JSON Patch of the
 * managed route's weights, as `kubectl edit` or another controller would make it). The operator
 * sees the change through its VirtualService informer and does what `spec.driftPolicy` says, with
 * a `WeightsDrifted` Warning Event:
 * - Hold: changes nothing and does not advance until the step is resumed, which writes the
 *   weights back; then the release goes on;
 * - RollBack: rolls back at once;
 * - Reapply: writes its weights back and goes on.
 * The three releases run side by side in one namespace, on three services, with one operator.
 */
import type { CanaryReleaseSpecInput, DriftPolicy } from '../../api/v1alpha1/canary-release.js';
import { RESUME_ANNOTATION, resumeValue } from '../../api/v1alpha1/canary-release.js';
import { VIRTUAL_SERVICES } from '../../operator/adapters/kubernetes.js';
import { E2eEnv, must, sleep, testFailed, transitions, waitFor } from './env.js';

const INTERVAL_S = 3;
const SERVICES = { Hold: 'reviews', RollBack: 'ratings', Reapply: 'details' } as const;
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-drift',
    services: Object.values(SERVICES).map((name) => ({
      name,
      versions: [
        { version: 'v1', latencyMs: 3 },
        { version: 'v2', latencyMs: 3 },
      ],
    })),
  });
  await env.startOperator();
  for (const host of Object.values(SERVICES)) env.load({ host, rps: 25, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

const spec = (service: string, driftPolicy: DriftPolicy): CanaryReleaseSpecInput => ({
  service,
  stable: { subset: 'v1', deployment: `${service}-v1` },
  canary: { subset: 'v2', deployment: `${service}-v2` },
  virtualService: { name: service, route: 'primary' },
  steps: [{ setWeight: 20 }, { setWeight: 40 }, { setWeight: 60 }],
  driftPolicy,
  analysis: {
    interval: `${INTERVAL_S}s`,
    threshold: 2,
    successRate: { min: 95 },
    missingData: { policy: 'Hold' },
  },
});

/** Someone else sets the managed route (http[1], after `health`) to 67/33, guarded by its name. */
async function editWeights(service: string): Promise<void> {
  const vs = await env.virtualService(service);
  const primary = vs.spec.http[1]!;
  expect(primary.name).toBe('primary');
  must(
    await env.client.jsonPatch(VIRTUAL_SERVICES, { namespace: env.ns, name: service }, [
      { op: 'test', path: '/spec/http/1/name', value: 'primary' },
      {
        op: 'replace',
        path: '/spec/http/1/route',
        value: [
          { destination: { host: service, subset: 'v1' }, weight: 67 },
          { destination: { host: service, subset: 'v2' }, weight: 33 },
        ],
      },
    ]),
  );
}

/** The WeightsDrifted Events of a release, once there are at least `expected` of them. */
async function driftEvents(name: string, expected = 1) {
  return (await env.events(name, Array<string>(expected).fill('WeightsDrifted'))).filter(
    (e) => e.reason === 'WeightsDrifted',
  );
}

test('Hold: the release stops where it is and leaves the edited weights alone until the step is resumed', async () => {
  const name = 'reviews-v2';
  await env.createRelease(name, spec(SERVICES.Hold, 'Hold'));
  await env.waitStatus(name, 'step 0', (s) => s.phase === 'Progressing' && s.currentStep === 0);
  await editWeights(SERVICES.Hold);
  const held = await env.waitStatus(
    name,
    'the WeightsDrifted hold',
    (s) => s.conditions?.find((c) => c.type === 'Progressing')?.reason === 'WeightsDrifted',
    10_000,
  );
  expect(held.message).toMatch(
    /stable 67 \/ canary 33, expected 80 \/ 20: someone else changed the VirtualService\. Holding \(driftPolicy Hold\)/,
  );
  const events = await driftEvents(name);
  expect(events).toHaveLength(1);
  expect(events[0]?.type).toBe('Warning');

  // two intervals later: still at step 0 (it would have advanced twice), the edit untouched
  await sleep(2 * INTERVAL_S * 1000 + 500);
  const still = await env.status(name);
  expect(still?.currentStep).toBe(0);
  expect(still?.phase).toBe('Progressing');
  expect(await env.weights(SERVICES.Hold)).toStrictEqual(['v1=67', 'v2=33']);
  expect(await driftEvents(name)).toHaveLength(1); // one Event per drift, not one per reconcile

  // resuming the step writes the weights back, and the release goes on to the end
  await env.annotate(name, { [RESUME_ANNOTATION]: resumeValue(still!.observedGeneration, 0) });
  const { final, trace } = await env.traceUntilFinished(name, SERVICES.Hold, 30_000);
  console.log(`Hold, after resume: ${trace.lines.join(' → ')}`);
  // The resume ends the hold with the operator's weights: step 0's, or, since step 0 had already
  // lasted an interval with a passing check, step 1's in the same decision. Never the edit again.
  // (The route is written before the status, so step 1's weights may be seen while the status
  // still says step 0, even in the trace's first sample when the operator acts first.)
  expect(trace.lines[0]).toMatch(/^Progressing\/0 v1=(67,v2=33|80,v2=20|60,v2=40)$/);
  expect(trace.lines.slice(1).some((l) => l.includes('v1=67'))).toBe(false);
  expect(trace.lines[1]).toMatch(/^Progressing\/(0 v1=80,v2=20|[01] v1=60,v2=40)$/);
  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['StepAdvanced', 2],
    ['Promoted', 3],
  ]);
  expect((await driftEvents(name, 2)).map((e) => e.note)).toEqual([
    expect.stringContaining('Holding (driftPolicy Hold)'),
    expect.stringContaining('writing them back (driftPolicy Hold, resumed)'),
  ]);
});

test('RollBack and Reapply, side by side: one rolls back at once, the other writes its weights back and goes on', async () => {
  await env.createRelease('ratings-v2', spec(SERVICES.RollBack, 'RollBack'));
  await env.createRelease('details-v2', spec(SERVICES.Reapply, 'Reapply'));
  await Promise.all([
    env.waitStatus('ratings-v2', 'step 0', (s) => s.phase === 'Progressing' && s.currentStep === 0),
    env.waitStatus('details-v2', 'step 0', (s) => s.phase === 'Progressing' && s.currentStep === 0),
  ]);
  const t0 = Date.now();
  await Promise.all([editWeights(SERVICES.RollBack), editWeights(SERVICES.Reapply)]);

  const [rolledBack, reappliedAt] = await Promise.all([
    env.waitStatus('ratings-v2', 'RolledBack', (s) => s.phase === 'RolledBack', 10_000, 50),
    waitFor(
      'details to get its weights back',
      async () =>
        (await env.weights(SERVICES.Reapply)).join(',') === 'v1=80,v2=20' ? Date.now() : undefined,
      10_000,
      50,
    ),
  ]);
  const reapplied = await env.traceUntilFinished('details-v2', SERVICES.Reapply, 40_000);
  console.log(
    `RollBack: RolledBack ${Date.parse(rolledBack.history!.at(-1)!.time) - t0} ms after the edit; Reapply: weights back ${reappliedAt - t0} ms after the edit, then ${reapplied.trace.lines.join(' → ')}`,
  );

  // RollBack: at once (the informer sees the edit; no analysis interval to wait for)
  expect(rolledBack.history?.at(-1)).toMatchObject({
    reason: 'WeightsDrifted',
    phase: 'RolledBack',
    step: 0,
  });
  expect(Date.parse(rolledBack.history!.at(-1)!.time) - t0).toBeLessThan(2000);
  expect(await env.weights(SERVICES.RollBack)).toStrictEqual(['v1=100', 'v2=0']);
  const rbEvents = await driftEvents('ratings-v2');
  expect(rbEvents).toHaveLength(1);
  expect(rbEvents[0]).toMatchObject({ type: 'Warning' });
  expect(rbEvents[0]?.note).toContain('driftPolicy RollBack');

  // Reapply: written back at once, then the plan goes on to promotion
  expect(reappliedAt - t0).toBeLessThan(2000);
  expect(reapplied.final.phase).toBe('Succeeded');
  expect(reapplied.trace.lines).not.toContain('Progressing/1 v1=67,v2=33');
  expect(transitions(reapplied.final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['StepAdvanced', 2],
    ['Promoted', 3],
  ]);
  const raEvents = await driftEvents('details-v2');
  expect(raEvents).toHaveLength(1);
  expect(raEvents[0]).toMatchObject({ type: 'Warning' });
  expect(raEvents[0]?.note).toContain('writing them back (driftPolicy Reapply)');
  expect(await env.weights(SERVICES.Reapply)).toStrictEqual(['v1=0', 'v2=100']);
});
