/**
 * A fleet of releases on the test control plane, for the benchmarks that measure a delivery
 * controller at a count of releases (`scale.bench.ts`, and a side-by-side run of another
 * controller on the same workloads).
 *
 * Each app of the fleet is a service with two versions: Deployments `<app>-v1` (stable) and
 * `<app>-v2` (canary), labelled `app: <app>` and `version: v1|v2`, run by kwok. What a controller
 * needs on top of them (our CanaryRelease with its VirtualService and DestinationRule, or another
 * controller's own resource) comes from `release(app)`; {@link canaryReleaseObjects} is ours.
 * Fake nodes are added first so that every pod fits (`ensurePodCapacity`).
 *
 * Every wait is bounded in count and time; creates run a few at a time.
 */
import type * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseSpecInput } from '../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  DESTINATION_RULES,
  KubeClient,
  VIRTUAL_SERVICES,
  type KubeObject,
  type ResourceType,
} from '../operator/adapters/kubernetes.js';
import { testNamespace } from '../test/harness/cluster.js';
import { ensurePodCapacity } from '../test/harness/fake-nodes.js';
import {
  canaryRelease,
  deployment,
  subsetRule,
  userVirtualService,
} from '../test/integration/operator-fixtures.js';

/** One service of the fleet and its two versions' Deployments. */
export interface FleetApp {
  readonly namespace: string;
  /** The service (host) name, e.g. `app-0042`. */
  readonly name: string;
  readonly stable: { readonly deployment: string; readonly version: 'v1' };
  readonly canary: { readonly deployment: string; readonly version: 'v2' };
}

/** An object to create for an app, with the REST type it is created through. */
export interface FleetObject {
  readonly type: ResourceType;
  readonly body: KubeObject;
}

export interface FleetOptions {
  readonly kubeConfig: k8s.KubeConfig;
  /** Apps (releases) in the fleet. */
  readonly size: number;
  /** Prefix of the fleet's namespace (made unique). @default 'fleet' */
  readonly prefix?: string;
  /** Replicas of each version's Deployment. @default 1 */
  readonly replicas?: number;
  /**
   * An app's Deployments, created first. @default `<app>-v1` and `<app>-v2` (labels `app`,
   * `version`) with `replicas` each; a controller that makes its own second Deployment from the
   * first (Flagger's `-primary`) is given one.
   */
  readonly workloads?: (app: FleetApp) => readonly FleetObject[];
  /** The controller's objects for an app, created after its Deployments. @default canaryReleaseObjects() */
  readonly release?: (app: FleetApp) => readonly FleetObject[];
  /** Creates in flight at once. @default 8 */
  readonly parallel?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface Fleet {
  readonly namespace: string;
  readonly apps: readonly FleetApp[];
  /** Fake nodes the fleet added for its pods. */
  readonly nodesAdded: readonly string[];
  /** Deletes the fleet's namespace (and everything in it). */
  dispose(): Promise<void>;
}

/** `app-0007`: sortable names, the same in every run. */
export const appName = (i: number) => `app-${String(i).padStart(4, '0')}`;

/**
 * Our CanaryRelease for an app, with the user's VirtualService (route `primary` to v1) and the
 * DestinationRule with subsets v1 and v2. Without traffic every check finds no data and holds, so
 * each release stays Progressing and is checked every `interval`.
 */
export function canaryReleaseObjects(
  opts: { readonly interval?: string; readonly steps?: CanaryReleaseSpecInput['steps'] } = {},
): (app: FleetApp) => readonly FleetObject[] {
  return (app) => [
    { type: DESTINATION_RULES, body: subsetRule(app.namespace, app.name, ['v1', 'v2']) as KubeObject },
    { type: VIRTUAL_SERVICES, body: userVirtualService(app.namespace, app.name, 'v1') as KubeObject },
    {
      type: CANARY_RELEASES,
      body: canaryRelease(app.namespace, `${app.name}-v2`, {
        service: app.name,
        stable: { subset: 'v1', deployment: app.stable.deployment },
        canary: { subset: 'v2', deployment: app.canary.deployment },
        virtualService: { name: app.name, route: 'primary' },
        steps: opts.steps ?? [{ setWeight: 10 }, { setWeight: 50 }],
        analysis: {
          interval: opts.interval ?? '5s',
          successRate: { min: 99 },
          missingData: { policy: 'Hold' },
        },
      }) as KubeObject,
    },
  ];
}

/** Runs `fn` over `items`, at most `parallel` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  parallel: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
}

/**
 * Creates the fleet: a namespace, enough fake nodes, each app's two Deployments, then its
 * controller objects. Resolves when everything is created (not when the Deployments are
 * available: {@link waitAvailable}).
 */
export async function createFleet(opts: FleetOptions): Promise<Fleet> {
  const log = opts.log ?? (() => undefined);
  const client = new KubeClient(opts.kubeConfig);
  const replicas = opts.replicas ?? 1;
  const capacity = await ensurePodCapacity(opts.kubeConfig, 2 * replicas * opts.size, {
    timeoutMs: 120_000,
  });
  if (capacity.added.length) log(`added ${capacity.added.length} fake nodes (${capacity.nodes} Ready)`);
  const ns = await testNamespace(opts.prefix ?? 'fleet');
  const apps: FleetApp[] = Array.from({ length: opts.size }, (_, i) => ({
    namespace: ns.name,
    name: appName(i),
    stable: { deployment: `${appName(i)}-v1`, version: 'v1' },
    canary: { deployment: `${appName(i)}-v2`, version: 'v2' },
  }));
  const release = opts.release ?? canaryReleaseObjects();
  const workloads =
    opts.workloads ??
    ((app: FleetApp): FleetObject[] =>
      [app.stable, app.canary].map((v) => ({
        type: DEPLOYMENTS,
        body: deployment(app.namespace, v.deployment, { app: app.name, version: v.version }, replicas),
      })));
  const create = async (o: FleetObject) => {
    const ns = o.body.metadata.namespace ?? '';
    for (let attempt = 1; ; attempt++) {
      const res = await client.create(o.type, ns, o.body);
      if (res.ok || res.error.status === 409) return;
      // The apiserver under a burst of creates may answer 429/5xx: a few bounded retries.
      if (res.error.kind !== 'Unavailable' || attempt >= 5) throw new Error(res.error.message);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  };
  const t0 = Date.now();
  await inParallel(apps, opts.parallel ?? 8, async (app) => {
    for (const o of workloads(app)) await create(o);
    for (const o of release(app)) await create(o);
  });
  log(`created ${apps.length} apps in ${ns.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { namespace: ns.name, apps, nodesAdded: capacity.added, dispose: ns.dispose };
}

/** Waits until every Deployment of the fleet is available; fails after `timeoutMs`. */
export async function waitAvailable(
  kubeConfig: k8s.KubeConfig,
  fleet: Fleet,
  timeoutMs = 600_000,
): Promise<number> {
  const client = new KubeClient(kubeConfig);
  const want = fleet.apps.length * 2;
  const t0 = Date.now();
  let available = 0;
  for (let i = 0; i < Math.ceil(timeoutMs / 1000) + 1; i++) {
    const list = await client.list(DEPLOYMENTS, fleet.namespace);
    if (list.ok) {
      available = list.value.items.filter((d) => {
        const spec = (d.spec ?? {}) as { replicas?: number };
        const st = (d.status ?? {}) as { availableReplicas?: number };
        return (st.availableReplicas ?? 0) >= (spec.replicas ?? 1);
      }).length;
      if (available >= want) return Date.now() - t0;
    }
    if (Date.now() - t0 > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `${available}/${want} Deployments of ${fleet.namespace} available after ${timeoutMs} ms: read the kube-controller-manager, kube-scheduler and kwok logs`,
  );
}
