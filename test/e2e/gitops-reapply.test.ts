/**
 * End to end: a GitOps tool re-applies the synthesized manifests while a release runs. The
 * release owns its VirtualService (`App.release()` synthesizes it into the CanaryRelease's
 * `virtualService.template`, and the operator writes it), so what Git holds is safe to apply at
 * any moment. Every object of a cdk8s program is applied again at every step the release
 * reaches, on the real apiserver:
 *
 * - as Flux's kustomize-controller applies (server-side apply, forced, its field manager);
 * - as Argo CD applies by default (client-side apply: a JSON merge patch of the whole manifest
 *   with the last-applied annotation; created when missing), for the next release after the
 *   one-line change, whose template the operator writes keeping the promoted weights.
 *
 * Both check that the release neither restarts nor changes course, that the weights are the
 * operator's at every step, and that the apiserver sees no tug of war: a watch on the
 * VirtualService records every write, and each one moves the canary forward; no GitOps manager
 * ever writes it. `cdk8s-mesh explain` against the live cluster sees the weights mid-release.
 *
 * With the real Prometheus and the traffic simulator (a test stand-in for Envoy).
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { TEMPLATE_ANNOTATION, type CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { run } from '../../cli/main.js';
import { App, Mesh } from '../../constructs/index.js';
import { cluster } from '../harness/cluster.js';
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
          { version: 'v3', latencyMs: 3 },
        ],
      },
    ],
  });
  // the workloads run with the sidecar, as in the user's mesh (explain applies routes for them)
  await k8s.KubernetesObjectApi.makeApiClient(env.kc).patch(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: env.ns, labels: { 'istio-injection': 'enabled' } },
    },
    undefined,
    undefined,
    'e2e',
    undefined,
    k8s.PatchStrategy.MergePatch,
  );
  await env.startOperator();
  env.load({ host: 'reviews', rps: 40, durationMs: 240_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

/** The user's program, synthesized: reviews runs `stable` and releases `next`. */
function manifests(stable: string, next: string, steps: object[]): k8s.KubernetesObject[] {
  const mesh = new Mesh(Testing.app(), 'shop', { namespace: env.ns, manageNamespace: false });
  const reviews = new App(mesh, 'reviews', {
    image: 'registry.example/reviews:{version}',
    port: 9080,
    versions: [stable],
  });
  reviews.release(next, {
    steps: steps as never,
    analysis: { interval: '2s', threshold: 2, successRate: { min: 90 }, missingData: { policy: 'Hold' } },
  });
  return Testing.synth(mesh) as k8s.KubernetesObject[];
}

const FLUX = 'kustomize-controller';
const ARGO = 'argocd-controller';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Flux's kustomize-controller: server-side apply of every object, forced, with its field manager. */
async function fluxApply(objs: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of objs)
    await api.patch(o, undefined, undefined, FLUX, true, k8s.PatchStrategy.ServerSideApply);
}

/**
 * Argo CD's default sync (client-side apply): the whole manifest as a JSON merge patch, with the
 * last-applied annotation, which sets every field the manifest has to its value; created when
 * missing.
 */
async function argoApply(objs: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
  for (const o of objs) {
    const withLast = {
      ...o,
      metadata: {
        ...o.metadata,
        annotations: { ...o.metadata?.annotations, [LAST_APPLIED]: JSON.stringify(o) },
      },
    };
    let exists = true;
    try {
      await api.read(o as k8s.KubernetesObject & { metadata: { name: string } });
    } catch {
      exists = false;
    }
    if (exists)
      await api.patch(withLast, undefined, undefined, ARGO, undefined, k8s.PatchStrategy.MergePatch);
    else await api.create(withLast, undefined, undefined, ARGO);
  }
}

interface VsWrite {
  readonly type: string;
  readonly weights: string;
  readonly managers: string[];
}

/** Records every write of the VirtualService `reviews` the apiserver reports, until stopped. */
async function watchVirtualService(): Promise<{ writes: VsWrite[]; stop: () => void }> {
  const writes: VsWrite[] = [];
  const req = await new k8s.Watch(env.kc).watch(
    `/apis/networking.istio.io/v1/namespaces/${env.ns}/virtualservices`,
    {},
    (
      type,
      o: {
        metadata: k8s.V1ObjectMeta;
        spec?: { http?: { name?: string; route?: { destination: { subset: string }; weight?: number }[] }[] };
      },
    ) => {
      if (o.metadata.name !== 'reviews') return;
      const primary = o.spec?.http?.find((r) => r.name === 'primary');
      writes.push({
        type,
        weights: (primary?.route ?? []).map((d) => `${d.destination.subset}=${d.weight ?? 100}`).join(),
        managers: (o.metadata.managedFields ?? []).map((f) => f.manager ?? ''),
      });
    },
    () => undefined,
  );
  return { writes, stop: () => req.abort() };
}

/** Drives a release to its end, re-applying `objs` with `apply` at every step it reaches; returns the steps seen. */
async function reapplyAtEveryStep(
  objs: readonly k8s.KubernetesObject[],
  apply: (objs: readonly k8s.KubernetesObject[]) => Promise<void>,
  revision: string,
  stable: string,
  canary: string,
  atStep?: (s: CanaryReleaseStatus) => Promise<void>,
): Promise<{ seen: string[]; final: CanaryReleaseStatus }> {
  const seen: string[] = [];
  const final = await env.explained(
    'reviews',
    (async () => {
      // ends well inside the test's timeout, so a release that stops moving fails with the
      // diagnosis (status, scrape, operator log) instead of a bare timeout
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const s = await env.status('reviews');
        const ours = s?.release.endsWith(`@${revision}`) ?? false;
        if (s && ours && (s.phase === 'RolledBack' || s.phase === 'Invalid'))
          throw new Error(`the release ended ${s.phase}: ${s.message ?? ''}; seen ${seen.join(' ')}`);
        if (s && ours && ['Progressing', 'Paused', 'Succeeded'].includes(s.phase)) {
          const at = `${s.phase}/${s.currentStep}`;
          if (!seen.includes(at)) {
            seen.push(at);
            const generation = (await env.release('reviews')).metadata.generation;
            await apply(objs);
            // the release did not restart
            expect((await env.release('reviews')).metadata.generation).toBe(generation);
            // the weights are the operator's: those of the status read before or just after them
            // (a step may advance in between)
            const weights = (await env.weights('reviews')).join();
            const after = (await env.status('reviews'))!;
            const expected = [s, after].map((x) => {
              const w = x.phase === 'Succeeded' ? 100 : x.canaryWeight;
              return `${stable}=${100 - w},${canary}=${w}`;
            });
            expect(expected).toContain(weights);
            await atStep?.(s);
          }
          if (s.phase === 'Succeeded') return s;
        }
        await sleep(100);
      }
      throw new Error(`the release did not finish; seen ${seen.join(' ')}`);
    })(),
  );
  return { seen, final };
}

test('Flux re-applying the manifests at every step: the operator owns the VirtualService, the weights move only forward, and Flux never writes it', async () => {
  const objs = manifests('v1', 'v2', [{ setWeight: 30 }, { pause: { duration: '3s' } }, { setWeight: 60 }]);
  // the VirtualService travels in the release: GitOps carries no VirtualService
  expect(objs.map((o) => o.kind).sort()).toStrictEqual([
    'CanaryRelease',
    'Deployment',
    'Deployment',
    'DestinationRule',
    'Service',
    'ServiceAccount',
  ]);
  const watch = await watchVirtualService();
  try {
    await fluxApply(objs);
    let explained = '';
    const { seen, final } = await reapplyAtEveryStep(
      objs,
      fluxApply,
      'registry.example/reviews:v2',
      'v1',
      'v2',
      async (s) => {
        // `cdk8s-mesh explain` on the live cluster sees the weights the operator set
        if (explained || s.currentStep !== 1 || s.canaryWeight !== 30) return;
        let out = '';
        await run(
          [
            'explain',
            '--kubeconfig',
            cluster.kubeconfigPath,
            '-n',
            env.ns,
            '--from',
            'reviews',
            '--host',
            'reviews',
          ],
          { out: (x) => (out += x), err: (x) => (out += x) },
        );
        explained = out;
      },
    );
    // every step reached was re-applied at (a short step can pass between two polls)
    expect(seen).toEqual(expect.arrayContaining(['Progressing/0', 'Succeeded/3']));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    // never started again: Initializing only before the start (a canary not yet ready at the first look)
    const reasons = final.history?.map((h) => h.reason) ?? [];
    expect(reasons).toContain('Started');
    expect(reasons.slice(reasons.indexOf('Started'))).not.toContain('Initializing');
    expect((await env.events('reviews')).map((e) => e.reason)).not.toContain('SpecChanged');
    expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v2=100']);
    // explained during step 1 (the 3 s pause at 30 %), which the polls cannot miss
    expect(explained).toMatch(/→ 70% reviews\.\S+ subset v1\b/);
    expect(explained).toMatch(/→ 30% reviews\.\S+ subset v2\b/);
  } finally {
    watch.stop();
  }
  // no tug of war: created once from the template, then one write per step, each moving the canary
  // forward (a write that changed no weight, or set one back, would be listed here)
  expect(watch.writes.map((w) => `${w.type} ${w.weights}`)).toStrictEqual([
    'ADDED v1=100,v2=0',
    'MODIFIED v1=70,v2=30',
    'MODIFIED v1=40,v2=60',
    'MODIFIED v1=0,v2=100',
  ]);
  expect(watch.writes.flatMap((w) => w.managers)).not.toContain(FLUX);
  const vs = await env.virtualService('reviews');
  expect((vs as { metadata: k8s.V1ObjectMeta }).metadata.annotations?.[TEMPLATE_ANNOTATION]).toMatch(
    /^reviews\/[0-9a-f]{16}$/,
  );
});

test('Argo CD re-applying (client-side apply) at every step of the next release: the new template is written keeping the promoted weights, then the release runs untouched', async () => {
  // the one-line change after the promotion: v2 is stable, v3 released
  const objs = manifests('v2', 'v3', [{ setWeight: 40 }, { pause: { duration: '2s' } }]);
  const watch = await watchVirtualService();
  try {
    await argoApply(objs);
    const { seen } = await reapplyAtEveryStep(objs, argoApply, 'registry.example/reviews:v3', 'v2', 'v3');
    expect(seen).toEqual(expect.arrayContaining(['Progressing/0', 'Succeeded/2']));
    expect(await env.weights('reviews')).toStrictEqual(['v2=0', 'v3=100']);
    // re-applies after the promotion leave it alone too
    const rv = ((await env.virtualService('reviews')) as { metadata: k8s.V1ObjectMeta }).metadata
      .resourceVersion;
    for (let i = 0; i < 3; i++) await argoApply(objs);
    await sleep(1500);
    expect(
      ((await env.virtualService('reviews')) as { metadata: k8s.V1ObjectMeta }).metadata.resourceVersion,
    ).toBe(rv);
  } finally {
    watch.stop();
  }
  // the template (v2 100 / v3 0, no v1) was written once over v1=0,v2=100, then one write per step
  expect(watch.writes.map((w) => `${w.type} ${w.weights}`)).toStrictEqual([
    'ADDED v1=0,v2=100',
    'MODIFIED v2=100,v3=0',
    'MODIFIED v2=60,v3=40',
    'MODIFIED v2=0,v3=100',
  ]);
  expect(watch.writes.flatMap((w) => w.managers)).not.toContain(ARGO);
});
