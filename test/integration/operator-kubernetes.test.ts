/**
 * The Kubernetes adapter on the real apiserver: the status is written in one patch through the
 * /status subresource (the spec untouched), skipped when unchanged, refused when the CanaryRelease
 * changed since it was read; Events are recorded with their reason (and visible to
 * `kubectl describe`, which reads core/v1 events); a Deployment's readiness comes from kwok.
 */
import * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  EVENTS,
  KubernetesAdapter,
  releaseSubject,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { canaryRelease, deployment, must, waitFor } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kube: KubernetesAdapter;
let kc: k8s.KubeConfig;

const spec = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  stepWeight: 50,
  maxWeight: 50,
};

const status = (message: string): CanaryReleaseStatus => ({
  observedGeneration: 1,
  release: 'reviews/reviews/primary:v1->v3@',
  phase: 'Progressing',
  currentStep: 0,
  totalSteps: 1,
  canaryWeight: 50,
  stepStartedAt: '2026-11-25T10:00:00.000Z',
  consecutiveFailures: 0,
  message,
});

beforeAll(async () => {
  kc = cluster.kubeConfig();
  kube = new KubernetesAdapter(kc, { instance: 'test-instance' });
  ns = await testNamespace('op-kube');
});
afterAll(async () => ns?.dispose());

describe('KubernetesAdapter on the real apiserver', () => {
  test('writes the status in one patch, skips an unchanged one, and refuses a stale resourceVersion', async () => {
    const ref = { namespace: ns.name, name: 'status' };
    const created = must(
      await kube.client.create<CanaryReleaseObject>(
        CANARY_RELEASES,
        ns.name,
        canaryRelease(ns.name, 'status', spec),
      ),
    );
    const rv0 = created.metadata.resourceVersion!;

    const first = must(await kube.writeStatus(ref, rv0, created.status, status('step 0')));
    expect(first.written).toBe(true);
    const read1 = must(await kube.getRelease(ref));
    expect(read1.status).toStrictEqual(status('step 0'));
    expect(read1.spec).toStrictEqual(created.spec); // the status write did not touch the spec
    expect(read1.metadata.generation).toBe(created.metadata.generation);

    // unchanged: nothing sent, the resourceVersion stays
    const again = must(
      await kube.writeStatus(ref, read1.metadata.resourceVersion!, read1.status, status('step 0')),
    );
    expect(again).toStrictEqual({ written: false });
    expect(must(await kube.getRelease(ref)).metadata.resourceVersion).toBe(read1.metadata.resourceVersion);

    // a write decided on the old read is refused, and nothing changes
    const stale = await kube.writeStatus(ref, rv0, created.status, status('decided on stale data'));
    expect(!stale.ok && stale.error.kind).toBe('Conflict');
    expect(must(await kube.getRelease(ref)).status).toStrictEqual(status('step 0'));
  });

  test('records Events with reason and note about the CanaryRelease, visible as core/v1 events', async () => {
    const obj = must(
      await kube.client.create<CanaryReleaseObject>(
        CANARY_RELEASES,
        ns.name,
        canaryRelease(ns.name, 'events', spec),
      ),
    );
    must(
      await kube.emitEvent(
        releaseSubject(obj),
        'Warning',
        'AnalysisFailed',
        'canary success rate 80% is below the minimum 99%',
      ),
    );
    must(await kube.emitEvent(releaseSubject(obj), 'Normal', 'StepAdvanced', 'step 1/2: setWeight 50'));
    const list = must(
      await kube.client.list<{
        metadata: { name: string };
        reason?: string;
        note?: string;
        type?: string;
        regarding?: { name?: string; kind?: string; uid?: string };
        reportingController?: string;
      }>(EVENTS, ns.name),
    );
    const mine = list.items.filter((e) => e.regarding?.name === 'events');
    // listed by name (<object>.<hex ns>): two Events in one millisecond may come in either order
    expect(mine.map((e) => [e.type, e.reason, e.note]).sort()).toStrictEqual([
      ['Normal', 'StepAdvanced', 'step 1/2: setWeight 50'],
      ['Warning', 'AnalysisFailed', 'canary success rate 80% is below the minimum 99%'],
    ]);
    expect(mine.find((e) => e.reason === 'AnalysisFailed')!.regarding).toMatchObject({
      kind: 'CanaryRelease',
      uid: obj.metadata.uid,
    });
    expect(mine[0]!.reportingController).toBe('delivery.cdk8s-mesh.io/canary-operator');
    const core = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(
      core.items
        .filter((e) => e.involvedObject.name === 'events')
        .map((e) => e.reason)
        .sort(),
    ).toStrictEqual(['AnalysisFailed', 'StepAdvanced']);
  });

  test('reads a Deployment as ready once kwok runs its pods, and a missing one as not ready', async () => {
    const missing = must(await kube.readiness({ namespace: ns.name, name: 'nope' }));
    expect(missing).toStrictEqual({ ready: false, message: `Deployment ${ns.name}/nope does not exist` });
    must(
      await kube.client.create(
        DEPLOYMENTS,
        ns.name,
        deployment(ns.name, 'reviews-v3', { app: 'reviews', version: 'v3' }, 2),
      ),
    );
    const t0 = Date.now();
    const ready = await waitFor(
      'reviews-v3 to be ready',
      async () => {
        const r = must(await kube.readiness({ namespace: ns.name, name: 'reviews-v3' }));
        return r.ready ? r : undefined;
      },
      60_000,
      200,
    );
    expect(ready).toStrictEqual({ ready: true, message: '2/2 available, 2/2 updated', replicas: 2 });
    console.log(`Deployment ready (kwok) after ${Date.now() - t0} ms`);

    // scaled to 0 through its scale subresource, it reads as not ready: no pods to release to
    must(await kube.scaleDeployment({ namespace: ns.name, name: 'reviews-v3' }, 0));
    const scaled = must(await kube.readiness({ namespace: ns.name, name: 'reviews-v3' }));
    expect(scaled).toStrictEqual({
      ready: false,
      message: 'it has 0 replicas: scale it up to release it',
      replicas: 0,
    });
  });
});
