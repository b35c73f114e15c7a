/**
 * End to end: a GitOps tool re-applies the synthesized manifests while a release runs. Every
 * object of a cdk8s program that releases `v2` is applied again with forced server-side apply (as
 * Flux and Argo CD apply) at every step the release reaches, on the real apiserver:
 *
 * - the CanaryRelease, the Deployments, the Service and the DestinationRule: the release neither
 *   restarts nor changes course, and the weights stay where the operator put them;
 * - the VirtualService, whose `spec.http` server-side apply treats as one atomic field: the apply
 *   puts back the manifests' weights (why docs/releases.md keeps it out of re-syncs), and the
 *   operator does not fight it: under `driftPolicy: Hold` it stops and says so, and writes its
 *   weights back only when resumed.
 *
 * With the real Prometheus and the traffic simulator (a test stand-in for Envoy).
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { RESUME_ANNOTATION, resumeValue } from '../../api/v1alpha1/canary-release.js';
import { App, Mesh } from '../../constructs/index.js';
import { E2eEnv, sleep, testFailed } from './env.js';

let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-gitops',
    createObjects: false,
    services: [
      {
        name: 'reviews',
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

/** The user's program, synthesized: reviews runs v1 and releases v2 in three steps. */
function manifests(): k8s.KubernetesObject[] {
  const mesh = new Mesh(Testing.app(), 'shop', { namespace: env.ns, manageNamespace: false });
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

async function apply(objs: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of objs)
    await api.patch(o, undefined, undefined, 'gitops', true, k8s.PatchStrategy.ServerSideApply);
}

const isVirtualService = (o: k8s.KubernetesObject) => o.kind === 'VirtualService';

test('re-applying the manifests at every step leaves the release and its weights alone; the VirtualService is the one object that must be kept out', async () => {
  const objs = manifests();
  await apply(objs);
  const rest = objs.filter((o) => !isVirtualService(o));
  expect(rest.map((o) => o.kind).sort()).toStrictEqual([
    'CanaryRelease',
    'Deployment',
    'Deployment',
    'DestinationRule',
    'Service',
    'ServiceAccount',
  ]);

  // 1. everything but the VirtualService, applied again at every step the release reaches
  const seen: string[] = [];
  const final = await env.explained(
    'reviews',
    (async () => {
      for (let i = 0; i < 600; i++) {
        const s = await env.status('reviews');
        if (s && (s.phase === 'Progressing' || s.phase === 'Paused' || s.phase === 'Succeeded')) {
          const at = `${s.phase}/${s.currentStep}`;
          if (!seen.includes(at)) {
            seen.push(at);
            const generation = (await env.release('reviews')).metadata.generation;
            await apply(rest);
            // the release did not restart, and the weights are still the operator's
            expect((await env.release('reviews')).metadata.generation).toBe(generation);
            // the weights are the operator's: those of the status read before or just after them
            // (a step may advance in between)
            const before = s.phase === 'Succeeded' ? 100 : s.canaryWeight;
            const weights = (await env.weights('reviews')).join();
            const after = (await env.status('reviews'))!;
            const expected = [before, after.phase === 'Succeeded' ? 100 : after.canaryWeight].map(
              (w) => `v1=${100 - w},v2=${w}`,
            );
            expect(expected).toContain(weights);
          }
          if (s.phase === 'Succeeded') return s;
        }
        await sleep(100);
      }
      throw new Error(`the release did not finish; seen ${seen.join(' ')}`);
    })(),
  );
  // every step reached was re-applied at (a short step can pass between two polls)
  expect(seen).toEqual(expect.arrayContaining(['Progressing/0', 'Succeeded/3']));
  expect(seen.length).toBeGreaterThanOrEqual(3);
  expect(final.history?.map((h) => h.reason)).not.toContain('Initializing');
  expect((await env.events('reviews')).map((e) => e.reason)).not.toContain('SpecChanged');
  expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100']);
});

test('a forced re-apply of the VirtualService puts back the manifests’ weights; the operator holds instead of fighting', async () => {
  // a new build of v2 starts a new release of the same program (revision changed)
  const objs = manifests().map((o) =>
    o.kind === 'CanaryRelease'
      ? {
          ...o,
          spec: {
            ...(o as { spec: Record<string, unknown> }).spec,
            stable: { subset: 'v2', deployment: 'reviews-v2' },
            canary: { subset: 'v1', deployment: 'reviews-v1', revision: 'rebuild' },
            steps: [{ setWeight: 40 }, { pause: {} }],
            analysis: { interval: '10s', successRate: { min: 90 }, missingData: { policy: 'Hold' } },
          },
        }
      : o,
  );
  await apply(objs.filter((o) => !isVirtualService(o)));
  const at0 = await env.waitStatus(
    'reviews',
    'step 0 of the new release',
    (s) => s.phase === 'Progressing' && s.currentStep === 0 && s.release.endsWith('@rebuild'),
    40_000,
  );
  expect(await env.weights('reviews')).toStrictEqual(['v1=40', 'v2=60']);

  // the VirtualService as synthesized (v1 100, v2 0), applied with force
  await apply(objs.filter(isVirtualService));
  expect(await env.weights('reviews')).toStrictEqual(['v1=100', 'v2=0']);
  const held = await env.waitStatus(
    'reviews',
    'held on drift',
    (s) => s.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'WeightsDrifted') ?? false,
    20_000,
  );
  // no tug of war: the operator leaves the applied weights alone while it holds
  await sleep(4500);
  expect(await env.weights('reviews')).toStrictEqual(['v1=100', 'v2=0']);
  expect((await env.status('reviews'))?.currentStep).toBe(held.currentStep);

  expect(held.currentStep).toBe(0);
  // resuming the step writes the operator's weights back
  await env.annotate('reviews', {
    [RESUME_ANNOTATION]: resumeValue(at0.observedGeneration, at0.currentStep),
  });
  await env.explained(
    'reviews',
    (async () => {
      for (let i = 0; i < 100; i++) {
        if ((await env.weights('reviews')).join() === 'v1=40,v2=60') return;
        await sleep(100);
      }
      throw new Error('weights not written back after resume');
    })(),
  );
});
