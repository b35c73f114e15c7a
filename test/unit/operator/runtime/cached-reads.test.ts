/**
 * When a read is served from an informer's cache and when it goes to the apiserver: the cache is
 * used once it holds the version this process last wrote or read fresh, never for a fresh read,
 * never before the first list. The same against the real apiserver, counted in its audit log:
 * `test/integration/operator-status-writes.test.ts`.
 */
import type { CanaryReleaseStatus } from '../../../../api/v1alpha1/canary-release.js';
import {
  routeSnapshot,
  type RouteSnapshot,
  type RouterError,
  type VirtualServiceObject,
} from '../../../../operator/adapters/istio-router.js';
import type {
  CanaryReleaseObject,
  EventSubject,
  KubeError,
  KubeObject,
  ObjectRef,
  StatusWrite,
} from '../../../../operator/adapters/kubernetes.js';
import { err, ok, type Result } from '../../../../operator/core/result.js';
import type { RouteAction, RouteTarget } from '../../../../operator/core/routes.js';
import type { Readiness } from '../../../../operator/core/types.js';
import {
  CachedRouter,
  CachedStore,
  type CacheView,
  type ObservingRouter,
} from '../../../../operator/runtime/cached-reads.js';
import { OperatorMetrics } from '../../../../operator/runtime/metrics.js';
import type { ReadOptions } from '../../../../operator/runtime/ports.js';

const ref: ObjectRef = { namespace: 'shop', name: 'reviews-v2' };
const conflict: KubeError = { kind: 'Conflict', status: 409, message: 'the object has been modified' };

/** An informer cache whose content the test sets. */
class FakeCache<T extends KubeObject> implements CacheView<T> {
  synced = true;
  readonly objects = new Map<string, T>();
  get(namespace: string, name: string): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }
  put(o: T): void {
    this.objects.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  }
}

const release = (rv: string, phase = 'Progressing'): CanaryReleaseObject => ({
  metadata: { ...ref, resourceVersion: rv, generation: 1 },
  spec: {},
  status: { phase },
});

const deployment = (name: string, rv: string, available: number): KubeObject => ({
  metadata: { namespace: 'shop', name, resourceVersion: rv, generation: 1 },
  spec: { replicas: 1 },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: available },
});

/** The apiserver side: what it holds, and every GET and write that reached it. */
class FakeApiserver {
  releaseNow: CanaryReleaseObject | undefined = release('1');
  deploymentNow: KubeObject | undefined = deployment('reviews-v2', '1', 1);
  readonly calls: string[] = [];
  nextStatusRv = '7';

  readonly store = {
    getRelease: async (r: ObjectRef, opts?: ReadOptions): Promise<Result<CanaryReleaseObject, KubeError>> => {
      this.calls.push(`get release${opts?.fresh ? ' (fresh)' : ''}`);
      return this.releaseNow
        ? ok(this.releaseNow)
        : err({ kind: 'NotFound', status: 404, message: `${r.name} not found` });
    },
    readiness: async (): Promise<Result<Readiness, KubeError>> => {
      throw new Error('CachedStore reads Deployments through getDeployment');
    },
    writeStatus: async (
      _r: ObjectRef,
      _rv: string,
      _p: unknown,
      _n: CanaryReleaseStatus,
    ): Promise<Result<StatusWrite, KubeError>> => {
      this.calls.push('patch status');
      return ok({ written: true, resourceVersion: this.nextStatusRv });
    },
    scaleDeployment: async (): Promise<Result<void, KubeError>> => {
      this.calls.push('patch scale');
      return ok(undefined);
    },
    emitEvent: async (_s: EventSubject): Promise<Result<void, KubeError>> => ok(undefined),
  };

  readonly getDeployment = async (): Promise<Result<KubeObject | undefined, KubeError>> => {
    this.calls.push('get deployment');
    return ok(this.deploymentNow);
  };
}

function setup() {
  const api = new FakeApiserver();
  const releases = new FakeCache<CanaryReleaseObject>();
  const deployments = new FakeCache<KubeObject>();
  const metrics = new OperatorMetrics();
  const store = new CachedStore(api.store, {
    releases,
    deployments,
    metrics,
    getDeployment: api.getDeployment,
  });
  return { api, releases, deployments, metrics, store };
}

describe('CachedStore', () => {
  test('a synced cache serves the release and a Deployment without a request', async () => {
    const { api, releases, deployments, store, metrics } = setup();
    releases.put(release('1'));
    deployments.put(deployment('reviews-v2', '1', 1));
    const got = await store.getRelease(ref);
    const ready = await store.readiness(ref);
    expect(got).toStrictEqual(ok(release('1')));
    expect(ready).toStrictEqual(ok({ ready: true, message: '1/1 available, 1/1 updated', replicas: 1 }));
    expect(api.calls).toStrictEqual([]);
    const counted = (await metrics.cacheReads.get()).values.map((v) => [
      v.labels.resource,
      v.labels.result,
      v.value,
    ]);
    expect(counted).toStrictEqual([
      ['canaryreleases', 'hit', 1],
      ['deployments', 'hit', 1],
    ]);
  });

  test('before the first list, and for a fresh read, the apiserver is asked', async () => {
    const { api, releases, store } = setup();
    releases.put(release('1'));
    releases.synced = false;
    await store.getRelease(ref);
    releases.synced = true;
    await store.getRelease(ref, { fresh: true });
    expect(api.calls).toStrictEqual(['get release', 'get release (fresh)']);
  });

  test('after a status write, the release is read from the apiserver until the cache holds the written version', async () => {
    const { api, releases, store } = setup();
    releases.put(release('6'));
    await store.writeStatus(ref, '6', { phase: 'Initializing' }, {
      phase: 'Progressing',
    } as CanaryReleaseStatus);
    api.releaseNow = release('7');
    // The watch event has not arrived: the cache still holds 6.
    expect(await store.getRelease(ref)).toStrictEqual(ok(release('7')));
    releases.put(release('7'));
    expect(await store.getRelease(ref)).toStrictEqual(ok(release('7')));
    expect(api.calls).toStrictEqual(['patch status', 'get release']);
  });

  test('a newer version read fresh (another writer) is awaited in the cache before it is used again', async () => {
    const { api, releases, store } = setup();
    releases.put(release('7'));
    api.releaseNow = release('9', 'Paused');
    await store.getRelease(ref, { fresh: true });
    expect(await store.getRelease(ref)).toStrictEqual(ok(release('9', 'Paused'))); // cache at 7: asked again
    releases.put(release('9', 'Paused'));
    expect(await store.getRelease(ref)).toStrictEqual(ok(release('9', 'Paused')));
    expect(api.calls).toStrictEqual(['get release (fresh)', 'get release']);
  });

  test('a release missing from the cache is asked for; gone there too, it is NotFound', async () => {
    const { api, store } = setup();
    api.releaseNow = undefined;
    const got = await store.getRelease(ref);
    expect(got.ok ? 'found' : got.error.kind).toBe('NotFound');
    expect(api.calls).toStrictEqual(['get release']);
  });

  test('a Deployment missing from a synced cache does not exist, without a request', async () => {
    const { api, store } = setup();
    expect(await store.readiness({ namespace: 'shop', name: 'reviews-v9' })).toStrictEqual(
      ok({ ready: false, message: 'Deployment shop/reviews-v9 does not exist' }),
    );
    expect(api.calls).toStrictEqual([]);
  });

  test('after a scale, the Deployment is read once from the apiserver, then from the cache once it caught up', async () => {
    const { api, deployments, store } = setup();
    deployments.put(deployment('reviews-v2', '3', 1));
    await store.scaleDeployment(ref, 0);
    api.deploymentNow = { ...deployment('reviews-v2', '4', 0), spec: { replicas: 0 } };
    const first = await store.readiness(ref);
    expect(first).toStrictEqual(
      ok({ ready: false, message: 'it has 0 replicas: scale it up to release it', replicas: 0 }),
    );
    await store.readiness(ref); // the cache still holds 3
    deployments.put({ ...deployment('reviews-v2', '4', 0), spec: { replicas: 0 } });
    await store.readiness(ref);
    expect(api.calls).toStrictEqual(['patch scale', 'get deployment', 'get deployment']);
  });
});

describe('CachedRouter', () => {
  const target: RouteTarget = {
    namespace: 'shop',
    release: 'reviews-v2',
    virtualService: 'reviews',
    route: 'primary',
    service: 'reviews',
    stableSubset: 'v1',
    canarySubset: 'v2',
  };
  const vs = (rv: string, canary: number): VirtualServiceObject => ({
    metadata: { namespace: 'shop', name: 'reviews', resourceVersion: rv },
    spec: {
      hosts: ['reviews'],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 100 - canary },
            { destination: { host: 'reviews', subset: 'v2' }, weight: canary },
          ],
        },
      ],
    },
  });

  /** Records `get` (a request) and `observe` (of an object read elsewhere, no request). */
  class FakeInnerRouter implements ObservingRouter {
    readonly calls: string[] = [];
    constructor(private readonly answers: Result<RouteSnapshot, RouterError>[]) {}
    async getRoutes(): Promise<Result<RouteSnapshot, KubeError>> {
      this.calls.push('get');
      return ok({
        observation: { found: false, reason: 'RouteNotFound' },
        resourceVersion: '8',
      } as RouteSnapshot);
    }
    async observe(t: RouteTarget, live: VirtualServiceObject | undefined) {
      this.calls.push('observe');
      return ok(routeSnapshot(t, live));
    }
    async apply(_t: RouteTarget, s: RouteSnapshot, _a: readonly RouteAction[]) {
      this.calls.push('patch');
      return this.answers.shift() ?? ok(s);
    }
  }

  test('reads the route from the cache, and after a refused write from the apiserver', async () => {
    const cache = new FakeCache<VirtualServiceObject>();
    cache.put(vs('5', 10));
    const inner = new FakeInnerRouter([err(conflict)]);
    const router = new CachedRouter(inner, { virtualservices: cache }, (t) => ({
      resource: 'virtualservices',
      ref: { namespace: t.namespace, name: t.virtualService },
    }));
    const cached = await router.getRoutes(target);
    expect(cached.ok && cached.value.resourceVersion).toBe('5');
    expect(cached.ok && cached.value.observation).toMatchObject({
      found: true,
      canaryWeight: 10,
      stableWeight: 90,
    });
    const snapshot = cached.ok ? cached.value : undefined;
    await router.apply(target, snapshot!, [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }]);
    await router.getRoutes(target);
    expect(inner.calls).toStrictEqual(['observe', 'patch', 'get']);
  });
});
