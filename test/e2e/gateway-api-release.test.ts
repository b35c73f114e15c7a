/**
 * End to end on a Gateway API Bookinfo: the synthesized manifests of Bookinfo in `gateway-api`
 * mode (HTTPRoutes whose parent is the Service, one Service per version, the CanaryReleases
 * driving them) applied to the real apiserver, the operator, the real Prometheus, and the traffic
 * simulator (a test stand-in for Envoy) routing by the live HTTPRoutes. Two releases run at once:
 * reviews v1 → v2 stays healthy and is promoted; ratings v1 → v2 starts answering 30% 5xx after
 * its first passing check and is rolled back. Each ends with the HTTPRoute's weights where the
 * release left them and the simulator's traffic following them.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { HTTP_ROUTES, type KubeObject } from '../../operator/adapters/kubernetes.js';
import { bookinfo } from '../../examples/bookinfo/bookinfo.js';
import type { ReleaseOptions } from '../../constructs/index.js';
import { E2eEnv, must, testFailed, transitions } from './env.js';

let env: E2eEnv;
const analysis: ReleaseOptions['analysis'] = {
  interval: '3s',
  threshold: 2,
  successRate: { min: 90 },
  missingData: { policy: 'Hold' },
};

/** `backend=weight` of the HTTPRoute's rule, in order. */
async function routeWeights(name: string, rule = 'primary'): Promise<string[]> {
  const r = must(await env.client.get(HTTP_ROUTES, { namespace: env.ns, name })) as KubeObject & {
    spec: { rules: { name?: string; backendRefs?: { name: string; weight?: number }[] }[] };
  };
  const found = r.spec.rules.find((x) => x.name === rule);
  if (!found) throw new Error(`HTTPRoute ${name} has no rule ${rule}`);
  return (found.backendRefs ?? []).map((b) => `${b.name}=${b.weight ?? 1}`);
}

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-gwapi',
    createObjects: false,
    services: [
      { name: 'reviews', versionServices: true, versions: [{ version: 'v1' }, { version: 'v2' }] },
      { name: 'ratings', versionServices: true, versions: [{ version: 'v1' }, { version: 'v2' }] },
    ],
  });
  const b = bookinfo(Testing.app(), 'bookinfo', {
    namespace: env.ns,
    mode: { trafficApi: 'gateway-api' },
    services: { reviews: { versions: ['v1'] }, ratings: { versions: ['v1'] } },
  });
  b.reviews.release('v2', {
    ownRoute: false,
    steps: [{ setWeight: 30 }, { setWeight: 60 }],
    analysis,
  });
  b.ratings.release('v2', {
    ownRoute: false,
    steps: [{ setWeight: 50 }, { pause: { duration: '5m' } }],
    analysis,
  });
  // the HTTPRoutes stay in the manifests (the test applies them), as before releases owned routes
  const objects = (Testing.synth(b.mesh) as k8s.KubernetesObject[]).filter((o) => o.kind !== 'Namespace');
  expect(objects.filter((o) => o.kind === 'HTTPRoute').map((o) => o.metadata?.name)).toStrictEqual([
    'reviews',
    'ratings',
  ]);
  expect(objects.some((o) => o.kind === 'VirtualService')).toBe(false);
  await env.startOperator();
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  // as a GitOps tool orders them: the routes, Services and Deployments before the releases
  const releasesLast = [
    ...objects.filter((o) => o.kind !== 'CanaryRelease'),
    ...objects.filter((o) => o.kind === 'CanaryRelease'),
  ];
  for (const o of releasesLast) await api.create(o, undefined, undefined, 'e2e');
  await env.sim.refresh();
  env.load({ host: 'reviews', rps: 40, durationMs: 150_000 });
  env.load({ host: 'ratings', rps: 40, durationMs: 150_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('a healthy release on an HTTPRoute is promoted: weights 30, 60, then all on reviews-v2', async () => {
  const final = await env.waitStatus(
    'reviews',
    'Succeeded',
    (s) => s.phase === 'Succeeded' || s.phase === 'RolledBack',
    60_000,
  );
  expect(final.phase).toBe('Succeeded');
  expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
    ['Started', 0, 30],
    ['StepAdvanced', 1, 60],
    ['Promoted', 2, 100],
  ]);
  expect(await routeWeights('reviews')).toStrictEqual(['reviews-v1=0', 'reviews-v2=100']);
  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: 'reviews', rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v2: 50 });
});

test('a release on an HTTPRoute whose canary answers 30% 5xx is rolled back: ratings-v1 takes everything again', async () => {
  await env.waitStatus(
    'ratings',
    'a passing check, or the next step (whose first check may not be in yet)',
    (s) => s.lastCheckPassed === true || s.currentStep >= 1,
    30_000,
  );
  expect(await routeWeights('ratings')).toStrictEqual(['ratings-v1=50', 'ratings-v2=50']);
  env.sim.backend('ratings', 'v2').set({ errorRate: 0.3 });
  const final = await env.waitStatus(
    'ratings',
    'RolledBack',
    (s) => s.phase === 'RolledBack' || s.phase === 'Succeeded',
    30_000,
  );
  expect(final.phase).toBe('RolledBack');
  const last = final.history?.[final.history.length - 1];
  expect(last).toMatchObject({ phase: 'RolledBack', reason: 'AnalysisFailed', canaryWeight: 0 });
  expect(last?.message).toMatch(/canary success rate [\d.]+% is below the minimum 90%/);
  expect(await routeWeights('ratings')).toStrictEqual(['ratings-v1=100', 'ratings-v2=0']);
  await env.sim.refresh();
  const after = await env.sim.runLoad({ host: 'ratings', rps: 100, requests: 50 });
  expect(after.byVersion).toStrictEqual({ v1: 50 });
});
