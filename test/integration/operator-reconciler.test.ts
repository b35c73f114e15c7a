/**
 * The reconciler's write paths on the real apiserver, one pass at a time: a VirtualService or a
 * CanaryRelease changed by someone else between the read and the write (a real 409 / failed
 * JSON Patch test from the apiserver, provoked by an edit made just before the write), and a
 * route write that fails outright (injected at the adapter's edge).
 *
 * What must hold: a conflict re-reads and decides again, the other writer's change survives, and
 * the history is not written twice; a failed route write leaves the status untouched (nothing is
 * half-applied) and says so in a Warning Event.
 */
import type * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DESTINATION_RULES,
  EVENTS,
  KubeClient,
  KubernetesAdapter,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
  type ObjectRef,
} from '../../operator/adapters/kubernetes.js';
import { IstioRouter, type RouteSnapshot } from '../../operator/adapters/istio-router.js';
import type { RouteAction, RouteTarget } from '../../operator/core/routes.js';
import { PrometheusProvider } from '../../operator/adapters/prometheus.js';
import { systemClock } from '../../operator/runtime/clock.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { OperatorMetrics } from '../../operator/runtime/metrics.js';
import { ReconcileError, Reconciler, type ReconcilerDeps } from '../../operator/runtime/reconciler.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { canaryRelease, must, subsetRule, userVirtualService } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: KubeClient;
const logs: LogEntry[] = [];

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('op-reconciler');
});
afterAll(async () => {
  await ns?.dispose();
});

/** A service with subsets v1/v2 and a VirtualService whose route `primary` sends all to v1. */
async function service(host: string): Promise<void> {
  must(await client.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, host, ['v1', 'v2'])));
  must(await client.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, host, 'v1')));
  must(
    await client.create(
      CANARY_RELEASES,
      ns.name,
      canaryRelease(ns.name, host, {
        service: host,
        stable: { subset: 'v1' },
        canary: { subset: 'v2' },
        virtualService: { name: host, route: 'primary' },
        steps: [{ setWeight: 20 }, { setWeight: 50 }],
        analysis: { interval: '1m' },
      }),
    ),
  );
}

function reconciler(over: Partial<ReconcilerDeps>): { r: Reconciler; metrics: OperatorMetrics } {
  const kube = new KubernetesAdapter(kc, { instance: 'reconciler-test' });
  const metrics = new OperatorMetrics();
  const r = new Reconciler({
    kube,
    router: new IstioRouter(kube.client),
    prometheus: new PrometheusProvider({ url: cluster.prometheusUrl, timeoutMs: 2000 }),
    clock: systemClock,
    log: createLogger({ level: 'debug', sink: (e) => logs.push(e) }),
    metrics,
    ...over,
  });
  return { r, metrics };
}

const ref = (name: string): ObjectRef => ({ namespace: ns.name, name });
const vsOf = async (name: string) =>
  (
    must(await client.get(VIRTUAL_SERVICES, ref(name))).spec as {
      http: {
        name: string;
        timeout?: string;
        route: { destination: { subset: string }; weight?: number }[];
      }[];
    }
  ).http;
const weights = async (name: string) =>
  (await vsOf(name))
    .find((h) => h.name === 'primary')!
    .route.map((d) => `${d.destination.subset}=${d.weight ?? 100}`);
const statusOf = async (name: string) =>
  must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, ref(name))).status as
    CanaryReleaseStatus | undefined;
const counter = async (metrics: OperatorMetrics, name: string, labels: Record<string, string>) =>
  (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  )?.value ?? 0;

test('a VirtualService edited between read and write: the reconciler reads again, decides again, and keeps the edit', async () => {
  await service('reviews');
  /** Someone else sets a timeout on the health route just before the operator's first write. */
  class EditedBeforeWrite extends IstioRouter {
    edits = 0;
    override async apply(t: RouteTarget, snapshot: RouteSnapshot, actions: readonly RouteAction[]) {
      if (this.edits++ === 0) {
        const vs = must(await client.get<KubeObject>(VIRTUAL_SERVICES, ref('reviews')));
        const spec = vs.spec as { http: { name: string; timeout?: string }[] };
        spec.http[0]!.timeout = '9s';
        must(await client.replace(VIRTUAL_SERVICES, ref('reviews'), vs));
      }
      return super.apply(t, snapshot, actions);
    }
  }
  const router = new EditedBeforeWrite(new KubeClient(kc));
  const { r, metrics } = reconciler({ router });
  const report = await r.reconcile(ref('reviews'));
  expect(report).toMatchObject({
    phase: 'Progressing',
    step: 0,
    canaryWeight: 20,
    conflicts: 1,
    statusWritten: true,
  });
  expect(router.edits).toBe(2); // the refused write, then the one made on a fresh read
  const http = await vsOf('reviews');
  expect(http.find((h) => h.name === 'health')?.timeout).toBe('9s'); // their change survives
  expect(await weights('reviews')).toStrictEqual(['v1=80', 'v2=20']);
  expect((await statusOf('reviews'))?.history?.map((h) => h.reason)).toStrictEqual(['Started']);
  expect(await counter(metrics, 'canary_operator_conflicts_total', { object: 'VirtualService' })).toBe(1);
});

test('a CanaryRelease edited between the route write and the status write: one more pass, one Started', async () => {
  await service('ratings');
  class AnnotatedBeforeStatus extends KubernetesAdapter {
    edits = 0;
    override async writeStatus(...args: Parameters<KubernetesAdapter['writeStatus']>) {
      if (this.edits++ === 0)
        must(
          await client.mergePatch(CANARY_RELEASES, ref('ratings'), {
            metadata: { annotations: { 'example.com/touched': 'yes' } },
          }),
        );
      return super.writeStatus(...args);
    }
  }
  const kube = new AnnotatedBeforeStatus(kc, { instance: 'reconciler-test' });
  const { r, metrics } = reconciler({ kube, router: new IstioRouter(kube.client) });
  const report = await r.reconcile(ref('ratings'));
  expect(report).toMatchObject({ phase: 'Progressing', step: 0, conflicts: 1, statusWritten: true });
  // the second pass found the route already at 80/20 (written in the first) and had nothing to write there
  expect(report?.actions).not.toContain('SetRoutes');
  expect(await weights('ratings')).toStrictEqual(['v1=80', 'v2=20']);
  const st = await statusOf('ratings');
  expect(st?.history?.map((h) => h.reason)).toStrictEqual(['Started']);
  expect(await counter(metrics, 'canary_operator_conflicts_total', { object: 'CanaryRelease' })).toBe(1);
});

test('a route write that fails leaves the status as it was, with a RouteUpdateFailed Warning', async () => {
  await service('details');
  class Down extends IstioRouter {
    override async apply() {
      return {
        ok: false as const,
        error: { kind: 'Unavailable' as const, status: 503, message: 'apiserver said 503' },
      };
    }
  }
  const { r, metrics } = reconciler({ router: new Down(new KubeClient(kc)) });
  const failed = await r.reconcile(ref('details')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failed).toBeInstanceOf(ReconcileError);
  expect(failed).toMatchObject({ reason: 'RouteUpdateFailed', message: 'apiserver said 503' });
  expect(await statusOf('details')).toBeUndefined(); // nothing half-applied: no status without its routes
  expect(await weights('details')).toStrictEqual(['v1=100']);
  const events = must(
    await client.list<KubeObject & { reason?: string; note?: string; type?: string }>(EVENTS, ns.name),
  ).items;
  expect(events.find((e) => e.reason === 'RouteUpdateFailed')).toMatchObject({
    type: 'Warning',
    note: expect.stringContaining(
      'apiserver said 503; the status is left as it was and the update is retried',
    ),
  });
  expect(await counter(metrics, 'canary_operator_route_writes_total', { result: 'error' })).toBe(1);
});
