/**
 * End to end, scenario 5: a manual gate that holds until it is resumed from the CLI
 * (`cdk8s-mesh resume`), and an abort from the CLI (`cdk8s-mesh abort`), both run in-process
 * against the real apiserver with the admin kubeconfig. A stale resume annotation (naming an
 * earlier step, which the CLI never writes) is written directly to show it opens nothing.
 */
import { RESUME_ANNOTATION, resumeValue } from '../../api/v1alpha1/canary-release.js';
import { EXIT, run } from '../../cli/main.js';
import { cluster } from '../harness/cluster.js';
import { E2eEnv, sleep, testFailed, transitions } from './env.js';

const INTERVAL_S = 3;
let env: E2eEnv;

/** A resume annotation naming `step` of the current generation, written directly (the CLI never writes a stale one). */
async function writeResume(name: string, step: number): Promise<string> {
  const obj = await env.release(name);
  const s = obj.status as { observedGeneration: number };
  const value = resumeValue(s.observedGeneration, step);
  await env.annotate(name, { [RESUME_ANNOTATION]: value });
  return value;
}

/** Runs the CLI in-process; resolves with its exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run([...args, '-n', env.ns, '--kubeconfig', cluster.kubeconfigPath], {
    out: (s) => (out += s),
    err: (s) => (err += s),
  });
  return { code, out, err };
}

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-gate',
    services: ['reviews', 'ratings'].map((name) => ({
      name,
      versions: [
        { version: 'v1', latencyMs: 3 },
        { version: 'v2', latencyMs: 3 },
      ],
    })),
  });
  await env.startOperator();
  env.load({ host: 'reviews', rps: 30, durationMs: 90_000 });
  env.load({ host: 'ratings', rps: 30, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

const release = (service: string, steps: unknown[]) => ({
  service,
  stable: { subset: 'v1', deployment: `${service}-v1` },
  canary: { subset: 'v2', deployment: `${service}-v2` },
  virtualService: { name: service, route: 'primary' },
  steps: steps as { setWeight: number }[],
  analysis: {
    interval: `${INTERVAL_S}s`,
    threshold: 2,
    successRate: { min: 95 },
    missingData: { policy: 'Hold' as const },
  },
});

test('a manual gate holds until resumed (a stale resume does not open it); then the release is promoted', async () => {
  await env.createRelease(
    'reviews-v2',
    release('reviews', [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }]),
  );
  const gate = await env.waitStatus(
    'reviews-v2',
    'the manual gate at step 1 to wait for approval',
    (s) =>
      s.phase === 'Paused' &&
      s.currentStep === 1 &&
      s.conditions?.find((c) => c.type === 'Progressing')?.reason === 'WaitingForApproval',
  );
  // the status tells the user exactly what to annotate
  expect(gate.message).toContain(`${RESUME_ANNOTATION}=${gate.observedGeneration}/1`);

  // a resume naming another step (the one before) is stale and must not open the gate
  await writeResume('reviews-v2', 0);
  await sleep(2.5 * INTERVAL_S * 1000); // two checks' worth of time at the gate
  const held = await env.status('reviews-v2');
  expect(held?.phase).toBe('Paused');
  expect(held?.currentStep).toBe(1);
  expect(held?.lastCheckPassed).toBe(true); // analysis keeps running at a gate
  expect(await env.weights('reviews')).toStrictEqual(['v1=80', 'v2=20']);

  const t0 = Date.now();
  const resumed = await cli('resume', 'reviews-v2');
  expect(resumed).toMatchObject({ code: EXIT.ok, err: '' });
  expect(resumed.out).toContain(`wrote delivery.cdk8s-mesh.io/resume=${gate.observedGeneration}/1`);
  const { final, trace } = await env.traceUntilFinished('reviews-v2', 'reviews', 30_000);
  console.log(`after resume: ${trace.lines.join(' → ')} in ${Date.now() - t0} ms`);
  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step])).toStrictEqual([
    ['Started', 0],
    ['StepAdvanced', 1],
    ['StepAdvanced', 2],
    ['Promoted', 3],
  ]);
  // resumed at once: step 2 begins within a reconcile of the annotation
  const step2 = final.history?.find((h) => h.step === 2);
  expect(Date.parse(step2!.time) - t0).toBeLessThan(1500);
  expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100']);
});

test('an abort rolls the release back at once, mid-step, with a Warning Event', async () => {
  await env.createRelease(
    'ratings-v2',
    release('ratings', [{ setWeight: 30 }, { pause: { duration: '5m' } }, { setWeight: 60 }]),
  );
  await env.waitStatus(
    'ratings-v2',
    'the timed pause at step 1',
    (s) => s.phase === 'Progressing' && s.currentStep === 1,
  );
  expect(await env.weights('ratings')).toStrictEqual(['v1=70', 'v2=30']);
  const otherBefore = (await env.virtualService('reviews')).metadata.resourceVersion;
  const t0 = Date.now();
  const abortRun = await cli('abort', 'ratings-v2');
  expect(abortRun).toMatchObject({ code: EXIT.ok, err: '' });
  const final = await env.waitStatus('ratings-v2', 'RolledBack', (s) => s.phase === 'RolledBack', 10_000, 50);
  const latency = Date.now() - t0;
  console.log(`abort → RolledBack in ${latency} ms`);
  expect(latency).toBeLessThan(2000);
  expect(final.history?.at(-1)).toMatchObject({
    phase: 'RolledBack',
    reason: 'Aborted',
    step: 1,
    canaryWeight: 0,
  });
  expect(await env.weights('ratings')).toStrictEqual(['v1=100', 'v2=0']);
  const aborted = (await env.events('ratings-v2', ['Aborted'])).filter((e) => e.reason === 'Aborted');
  expect(aborted).toHaveLength(1);
  expect(aborted[0]?.type).toBe('Warning');
  expect(aborted[0]?.note).toMatch(/aborted by annotation at step 1/);
  // the other release's VirtualService in the namespace was not touched by the abort
  expect((await env.virtualService('reviews')).metadata.resourceVersion).toBe(otherBefore);
});
