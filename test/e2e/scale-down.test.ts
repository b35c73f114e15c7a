/**
 * End to end: the losing version goes away. After a promotion the old stable's Deployment, after a
 * rollback the canary's, is scaled to 0 once `scaleDown.delay` has passed and no route sends it
 * traffic; with a HorizontalPodAutoscaler on the stable version the autoscaler does not bring it
 * back. On the real apiserver (kube-controller-manager running the Deployments and the autoscaler,
 * kwok the pods), the real Prometheus, and the traffic simulator (a test stand-in for Envoy).
 */
import {
  ABORT_ANNOTATION,
  RESUME_ANNOTATION,
  resumeValue,
  type CanaryReleaseSpecInput,
} from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  VIRTUAL_SERVICES,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { E2eEnv, must, testFailed, waitFor } from './env.js';

const INTERVAL = '2s';
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-scaledown',
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
          { version: 'v3', latencyMs: 3 },
        ],
      },
    ],
  });
  await env.startOperator();
  env.load({ host: 'reviews', rps: 40, durationMs: 150_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

const release = (stable: string, canary: string, revision: string): CanaryReleaseSpecInput => ({
  service: 'reviews',
  stable: { subset: stable, deployment: `reviews-${stable}` },
  canary: { subset: canary, deployment: `reviews-${canary}`, revision },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 50 }],
  analysis: { interval: INTERVAL, threshold: 2, successRate: { min: 90 }, missingData: { policy: 'Hold' } },
  scaleDown: { delay: '3s' },
});

async function replicas(name: string): Promise<number> {
  const d = must(await env.client.get(DEPLOYMENTS, { namespace: env.ns, name }));
  return (d.spec as { replicas?: number }).replicas ?? 1;
}

async function setReplicas(name: string, n: number): Promise<void> {
  must(
    await env.client.jsonPatch(DEPLOYMENTS, { namespace: env.ns, name }, [
      { op: 'replace', path: '/spec/replicas', value: n },
    ]),
  );
}

test('promotion: the old stable waits while a route still sends it traffic, then is scaled to 0', async () => {
  await setReplicas('reviews-v1', 2);
  await env.createRelease('promote', release('v1', 'v2', '2.0'));
  const done = await env.waitStatus('promote', 'promoted', (s) => s.phase === 'Succeeded', 60_000);
  const promotedAt = Date.parse(done.stepStartedAt);

  // the VirtualService's 'health' route (not the release's) still sends to v1: held, not scaled
  const held = await env.waitStatus(
    'promote',
    'scale-down held',
    (s) => s.scaleDown?.state === 'Held',
    20_000,
  );
  expect(held.scaleDown?.message).toBe(
    'Deployment reviews-v1 stays up: route health of VirtualService reviews still send v1 traffic; it scales to 0 once none does',
  );
  expect(Date.now() - promotedAt).toBeGreaterThanOrEqual(3000);
  expect(await replicas('reviews-v1')).toBe(2);

  // the user moves the health route to v2: now nothing sends v1 traffic and it goes to 0
  const vs = await env.virtualService('reviews');
  const i = vs.spec.http.findIndex((r) => r.name === 'health');
  must(
    await env.client.jsonPatch(VIRTUAL_SERVICES, { namespace: env.ns, name: 'reviews' }, [
      { op: 'replace', path: `/spec/http/${i}/route/0/destination/subset`, value: 'v2' },
    ]),
  );
  const scaled = await env.waitStatus(
    'promote',
    'scaled down',
    (s) => s.scaleDown?.state === 'ScaledDown',
    20_000,
  );
  expect(scaled.scaledDown).toStrictEqual([{ deployment: 'reviews-v1', subset: 'v1', replicas: 2 }]);
  expect(await replicas('reviews-v1')).toBe(0);
  // the Deployment's pods go away (kube-controller-manager and kwok act on the new replicas)
  await waitFor(
    'reviews-v1 to have no pods',
    async () => {
      const d = must(
        await env.client.get<KubeObject>(DEPLOYMENTS, { namespace: env.ns, name: 'reviews-v1' }),
      );
      return ((d.status as { replicas?: number }).replicas ?? 0) === 0 ? true : undefined;
    },
    20_000,
  );
  // the winner keeps its replicas, and all traffic stays on it
  expect(await replicas('reviews-v2')).toBe(1);
  expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100']);
  const reasons = (await env.events('promote', ['Promoted', 'ScaleDownHeld', 'ScaledDown'])).map(
    (e) => e.reason,
  );
  expect(reasons).toEqual(expect.arrayContaining(['Promoted', 'ScaleDownHeld', 'ScaledDown']));
});

test('rollback: the canary is scaled to 0 after the delay; the next release that needs it gives its replicas back', async () => {
  // v2 is stable now; v3 is released and aborted
  await env.createRelease('rollback', release('v2', 'v3', '3.0'));
  const started = await env.waitStatus('rollback', 'step 0', (s) => s.phase === 'Progressing', 30_000);
  await env.annotate('rollback', { [ABORT_ANNOTATION]: String(started.observedGeneration) });
  const rolledBack = await env.waitStatus('rollback', 'rolled back', (s) => s.phase === 'RolledBack', 20_000);
  const at = Date.parse(rolledBack.stepStartedAt);
  const scaled = await env.waitStatus(
    'rollback',
    'canary scaled down',
    (s) => s.scaleDown?.state === 'ScaledDown',
    20_000,
  );
  const firstScaled = (await env.events('rollback', ['ScaledDown'])).find((e) => e.reason === 'ScaledDown');
  expect(firstScaled?.note).toBe(
    'Deployment reviews-v3 (v3) scaled from 1 to 0 replicas 3s after the release was rolled back; a release that needs v3 again gives them back',
  );
  expect(scaled.scaledDown).toStrictEqual([{ deployment: 'reviews-v3', subset: 'v3', replicas: 1 }]);
  expect(await replicas('reviews-v3')).toBe(0);
  expect(await replicas('reviews-v2')).toBe(1);
  expect(Date.now() - at).toBeGreaterThanOrEqual(3000);
  // the route keeps the v1 destination the first release left, at 0
  expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100', 'v3=0']);

  // a fixed build of v3: the same subset with a new revision restarts the release, which first
  // gives reviews-v3 its replica back, then starts once it is ready (and waits at a manual gate
  // before its promotion, which the next test approves)
  const cr = await env.release('rollback');
  must(
    await env.client.mergePatch(
      CANARY_RELEASES,
      { namespace: env.ns, name: 'rollback' },
      {
        spec: { canary: { revision: '3.1' }, steps: [{ setWeight: 50 }, { pause: {} }] },
        metadata: { resourceVersion: cr.metadata.resourceVersion },
      },
    ),
  );
  const restarted = await env.waitStatus(
    'rollback',
    'the new release at step 0',
    (s) => s.phase === 'Progressing' && s.release.endsWith('@3.1'),
    30_000,
  );
  expect(await replicas('reviews-v3')).toBe(1);
  expect(restarted.scaledDown).toBeUndefined();
  const reasons = (
    await env.events('rollback', ['Aborted', 'ScaledDown', 'ScaledUp', 'Started', 'Started'])
  ).map((e) => e.reason);
  expect(reasons).toEqual(expect.arrayContaining(['Aborted', 'ScaledDown', 'ScaledUp', 'Started']));
  expect(reasons.indexOf('ScaledUp')).toBeLessThan(reasons.lastIndexOf('Started'));
});

test('an autoscaler on the stable version does not bring it back after the scale-down', async () => {
  // reviews-v2 (stable) is autoscaled between 2 and 4 replicas
  must(
    await env.client.create(
      { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' },
      env.ns,
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'reviews-v2', namespace: env.ns },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'reviews-v2' },
          minReplicas: 2,
          maxReplicas: 4,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
            },
          ],
        },
      },
    ),
  );
  await waitFor(
    'the autoscaler to raise reviews-v2 to its minimum',
    async () => ((await replicas('reviews-v2')) === 2 ? true : undefined),
    45_000,
    500,
  );

  // the v3 fix (the 'rollback' release from the test before) passes its gate and is promoted,
  // with the health route moved to v3 beforehand so that nothing holds v2 up
  const vs = await env.virtualService('reviews');
  const i = vs.spec.http.findIndex((r) => r.name === 'health');
  must(
    await env.client.jsonPatch(VIRTUAL_SERVICES, { namespace: env.ns, name: 'reviews' }, [
      { op: 'replace', path: `/spec/http/${i}/route/0/destination/subset`, value: 'v3' },
    ]),
  );
  const paused = await env.waitStatus('rollback', 'the manual gate', (s) => s.phase === 'Paused', 30_000);
  expect(paused.currentStep).toBe(1);
  await env.annotate('rollback', { [RESUME_ANNOTATION]: resumeValue(paused.observedGeneration, 1) });
  const done = await env.waitStatus('rollback', 'promoted', (s) => s.phase === 'Succeeded', 60_000);
  expect(done.release.endsWith('@3.1')).toBe(true);
  const scaled = await env.waitStatus(
    'rollback',
    'stable scaled down',
    (s) => s.scaleDown?.state === 'ScaledDown' && s.scaleDown.deployment === 'reviews-v2',
    20_000,
  );
  expect(scaled.scaledDown).toStrictEqual([{ deployment: 'reviews-v2', subset: 'v2', replicas: 2 }]);

  // the autoscaler sees a target at 0 and stops (ScalingActive=False, ScalingDisabled): it stays 0
  const hpa = await waitFor(
    'the autoscaler to report scaling disabled',
    async () => {
      const h = must(
        await env.client.get<KubeObject>(
          { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' },
          { namespace: env.ns, name: 'reviews-v2' },
        ),
      );
      const c = (
        (h.status as { conditions?: { type: string; status: string; reason: string }[] }).conditions ?? []
      ).find((x) => x.type === 'ScalingActive');
      return c?.reason === 'ScalingDisabled' ? c : undefined;
    },
    45_000,
    500,
  );
  expect(hpa.status).toBe('False');
  expect(await replicas('reviews-v2')).toBe(0);
});
