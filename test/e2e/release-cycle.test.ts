/**
 * End to end: two releases in a row, each driven by the one-line change a user makes to a cdk8s
 * program (`reviews.release('v2')`, then `versions: ['v2']` and `reviews.release('v3')`). The
 * synthesized manifests are applied with server-side apply (forced, as Flux and Argo CD apply) and
 * pruned as a GitOps sync does; the operator runs each release, promotes it and scales the old
 * stable down. On the real apiserver (kube-controller-manager and kwok running the Deployments),
 * the real Prometheus, and the traffic simulator (a test stand-in for Envoy).
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { App, Mesh } from '../../constructs/index.js';
import { DEPLOYMENTS } from '../../operator/adapters/kubernetes.js';
import { E2eEnv, sample, sleep, testFailed } from './env.js';

let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-cycle',
    createObjects: false,
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
  env.load({ host: 'reviews', rps: 40, durationMs: 120_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

/** The user's program: `stable` running, `next` released in one line. */
function program(stable: string, next: string): k8s.KubernetesObject[] {
  const mesh = new Mesh(Testing.app(), 'shop', { namespace: env.ns, manageNamespace: false });
  const reviews = new App(mesh, 'reviews', {
    image: 'registry.example/reviews:{version}',
    port: 9080,
    versions: [stable],
  });
  reviews.release(next, {
    steps: [{ setWeight: 50 }],
    analysis: { interval: '2s', threshold: 2, successRate: { min: 90 }, missingData: { policy: 'Hold' } },
    scaleDown: { delay: '2s' },
  });
  return Testing.synth(mesh) as k8s.KubernetesObject[];
}

const key = (o: k8s.KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

/** A GitOps sync: server-side apply of every object (forced, as Flux and Argo CD do), then prune. */
async function sync(objs: k8s.KubernetesObject[], previous: k8s.KubernetesObject[] = []): Promise<string[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of objs)
    await api.patch(o, undefined, undefined, 'gitops', true, k8s.PatchStrategy.ServerSideApply);
  const now = new Set(objs.map(key));
  const pruned = previous.filter((o) => !now.has(key(o)));
  for (const o of pruned) await api.delete(o);
  return pruned.map(key);
}

async function replicas(name: string): Promise<number | undefined> {
  const d = await env.client.get(DEPLOYMENTS, { namespace: env.ns, name });
  if (!d.ok) return undefined;
  return (d.value.spec as { replicas?: number }).replicas;
}

test('release v2, then the one-line change releases v3 from v2; each old stable is scaled down, then pruned', async () => {
  // 1. `reviews.release('v2')` on an App running v1
  const first = program('v1', 'v2');
  expect(await sync(first)).toStrictEqual([]);
  const one = await env.waitStatus('reviews', 'v2 promoted', (s) => s.phase === 'Succeeded', 60_000);
  expect(one.release).toBe('reviews/reviews/primary:v1->v2@registry.example/reviews:v2');
  expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100']);
  await env.waitStatus('reviews', 'v1 scaled down', (s) => s.scaleDown?.state === 'ScaledDown', 20_000);
  expect(await replicas('reviews-v1')).toBe(0);

  // 2. the one-line change: v2 is the App's version now, and the release line names v3
  const second = program('v2', 'v3');
  expect(await sync(second, first)).toStrictEqual(['Deployment/reviews-v1']);
  // the release owns the VirtualService: the operator writes the new template (v2 100, v3 0) over
  // the promoted v1 0 / v2 100, which keeps all traffic where the promotion left it, and may
  // already have taken the release's only step; no other state is ever seen
  const states = new Set<string>();
  for (let i = 0; i < 200 && !states.has('v2=100,v3=0') && !states.has('v2=50,v3=50'); i++) {
    states.add((await env.weights('reviews')).join());
    await sleep(50);
  }
  expect([...states].filter((w) => !['v1=0,v2=100', 'v2=100,v3=0', 'v2=50,v3=50'].includes(w))).toStrictEqual(
    [],
  );
  expect(states.has('v2=100,v3=0') || states.has('v2=50,v3=50')).toBe(true);
  const two = await env.waitStatus(
    'reviews',
    'v3 promoted',
    (s) => s.phase === 'Succeeded' && s.release.endsWith('reviews:v3'),
    60_000,
  );
  expect(two.release).toBe('reviews/reviews/primary:v2->v3@registry.example/reviews:v3');
  expect(await env.weights('reviews')).toStrictEqual(['v2=0', 'v3=100']);
  const done = await env.waitStatus(
    'reviews',
    'v2 scaled down',
    (s) => s.scaleDown?.state === 'ScaledDown',
    20_000,
  );
  expect(done.scaleDown?.deployment).toBe('reviews-v2');
  expect(done.scaledDown).toStrictEqual([
    { deployment: 'reviews-v1', subset: 'v1', replicas: 1 },
    { deployment: 'reviews-v2', subset: 'v2', replicas: 1 },
  ]);
  expect(await replicas('reviews-v2')).toBe(0);
  expect(await replicas('reviews-v1')).toBeUndefined();
  expect(await replicas('reviews-v3')).toBe(1);

  // every request now answers from v3
  await env.sim.refresh();
  expect(await sample(env.sim, 'reviews', 20)).toStrictEqual({ v3: 20 });
  const reasons = (
    await env.events('reviews', ['Promoted', 'Promoted', 'ScaledDown', 'ScaledDown', 'SpecChanged'])
  ).map((e) => e.reason);
  expect(reasons.filter((r) => r === 'Promoted')).toHaveLength(2);
  expect(reasons.filter((r) => r === 'ScaledDown')).toHaveLength(2);
  expect(reasons).toContain('SpecChanged');
});
