/**
 * End to end: Flux re-applies the synthesized manifests at every step of a release on a Gateway
 * API mesh. The release owns the App's HTTPRoute (`App.release()` synthesizes it into the
 * CanaryRelease's `httpRoute.template`, and the operator writes it), so the manifests carry no
 * HTTPRoute, whose `rules` server-side apply would take as one atomic field. A watch on the
 * HTTPRoute records every write: created once from the template, then one write per step, none by
 * Flux. With the real Prometheus and the traffic simulator (a test stand-in for Envoy), which
 * follows the HTTPRoute's weighted backendRefs.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { TEMPLATE_ANNOTATION, type CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { App, Mesh } from '../../constructs/index.js';
import { E2eEnv, sleep, testFailed } from './env.js';

let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-gitops-gw',
    createObjects: false,
    services: [
      {
        name: 'reviews',
        versionServices: true,
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
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

const FLUX = 'kustomize-controller';

/** The user's program on a Gateway API mesh, synthesized: reviews runs v1 and releases v2. */
function manifests(): k8s.KubernetesObject[] {
  const mesh = new Mesh(Testing.app(), 'shop', {
    namespace: env.ns,
    manageNamespace: false,
    trafficApi: 'gateway-api',
  });
  const reviews = new App(mesh, 'reviews', {
    image: 'registry.example/reviews:{version}',
    port: 9080,
    versions: ['v1'],
  });
  reviews.release('v2', {
    steps: [{ setWeight: 30 }, { pause: { duration: '3s' } }, { setWeight: 60 }],
    analysis: { interval: '2s', threshold: 2, successRate: { min: 90 }, missingData: { policy: 'Hold' } },
  });
  return Testing.synth(mesh) as k8s.KubernetesObject[];
}

/** Flux's kustomize-controller: server-side apply of every object, forced, with its field manager. */
async function fluxApply(objs: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of objs)
    await api.patch(o, undefined, undefined, FLUX, true, k8s.PatchStrategy.ServerSideApply);
}

type Route = {
  metadata: k8s.V1ObjectMeta;
  spec?: { rules?: { name?: string; backendRefs?: { name: string; weight?: number }[] }[] };
};
const weightsOf = (o: Route) =>
  (o.spec?.rules?.find((r) => r.name === 'primary')?.backendRefs ?? [])
    .map((b) => `${b.name}=${b.weight ?? 1}`)
    .join();

async function readRoute(): Promise<Route | undefined> {
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  return custom
    .getNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'httproutes',
      namespace: env.ns,
      name: 'reviews',
    })
    .then(
      (o) => o as Route,
      () => undefined,
    );
}

test('Flux re-applying the manifests at every step: the operator owns the HTTPRoute, the weights move only forward, and Flux never writes it', async () => {
  const objs = manifests();
  expect(objs.map((o) => o.kind).filter((k) => k === 'HTTPRoute' || k === 'CanaryRelease')).toStrictEqual([
    'CanaryRelease',
  ]);
  const writes: { type: string; weights: string; managers: string[] }[] = [];
  const req = await new k8s.Watch(env.kc).watch(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${env.ns}/httproutes`,
    {},
    (type, o: Route) => {
      if (o.metadata.name !== 'reviews') return;
      writes.push({
        type,
        weights: weightsOf(o),
        managers: (o.metadata.managedFields ?? []).map((f) => f.manager ?? ''),
      });
    },
    () => undefined,
  );
  const seen: string[] = [];
  try {
    await fluxApply(objs);
    const deadline = Date.now() + 90_000;
    let final: CanaryReleaseStatus | undefined;
    while (Date.now() < deadline && !final) {
      const s = await env.status('reviews');
      if (s && (s.phase === 'RolledBack' || s.phase === 'Invalid'))
        throw new Error(`the release ended ${s.phase}: ${s.message ?? ''}; seen ${seen.join(' ')}`);
      if (s && ['Progressing', 'Paused', 'Succeeded'].includes(s.phase)) {
        const at = `${s.phase}/${s.currentStep}`;
        if (!seen.includes(at)) {
          seen.push(at);
          const generation = (await env.release('reviews')).metadata.generation;
          await fluxApply(objs);
          expect((await env.release('reviews')).metadata.generation).toBe(generation);
          const route = await readRoute();
          const after = (await env.status('reviews'))!;
          const expected = [s, after].map((x) => {
            const w = x.phase === 'Succeeded' ? 100 : x.canaryWeight;
            return `reviews-v1=${100 - w},reviews-v2=${w}`;
          });
          expect(expected).toContain(weightsOf(route!));
        }
        if (s.phase === 'Succeeded') final = s;
      }
      await sleep(100);
    }
    if (!final) throw new Error(`the release did not finish; seen ${seen.join(' ')}`);
    expect(seen).toEqual(expect.arrayContaining(['Progressing/0', 'Succeeded/3']));
    const reasons = final.history?.map((h) => h.reason) ?? [];
    expect(reasons.slice(reasons.indexOf('Started'))).not.toContain('Initializing');
  } finally {
    req.abort();
  }
  expect(writes.map((w) => `${w.type} ${w.weights}`)).toStrictEqual([
    'ADDED reviews-v1=100,reviews-v2=0',
    'MODIFIED reviews-v1=70,reviews-v2=30',
    'MODIFIED reviews-v1=40,reviews-v2=60',
    'MODIFIED reviews-v1=0,reviews-v2=100',
  ]);
  expect(writes.flatMap((w) => w.managers)).not.toContain(FLUX);
  expect((await readRoute())!.metadata.annotations?.[TEMPLATE_ANNOTATION]).toMatch(/^reviews\/[0-9a-f]{16}$/);
});
