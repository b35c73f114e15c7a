/**
 * Reads from the informers' caches instead of a GET per object per reconcile, where the cache is
 * fresh enough.
 *
 * "Fresh enough" is decided per object from what this process knows: after it writes an object
 * (a status, a route) or reads it fresh, it remembers the resourceVersion it saw, and the cache is
 * used again only once it holds that version. Until then (the watch event is on its way) the
 * object is read with a GET. The cache may still lag behind another writer (a user, a second
 * replica): every write the operator makes carries the resourceVersion it decided on, so such a
 * write is refused with a Conflict, and the reconcile reads again with `fresh: true`, which always
 * goes to the apiserver. A CanaryRelease missing from the cache is read fresh too (a reconcile
 * asked for before its add event); a missing VirtualService or Deployment in a synced cache is
 * missing.
 */
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import type { RouteSnapshot, RouterError, VirtualServiceObject } from '../adapters/istio-router.js';
import {
  readinessOf,
  type CanaryReleaseObject,
  type KubeError,
  type KubeObject,
  type ObjectRef,
  type StatusWrite,
} from '../adapters/kubernetes.js';
import { ok, type Result } from '../core/result.js';
import type { RouteAction, RouteTarget } from '../core/routes.js';
import type { Readiness } from '../core/types.js';
import type { OperatorMetrics } from './metrics.js';
import type { DeploymentScaler, EventRecorder, ReadOptions, ReleaseReader, StatusWriter } from './ports.js';
import type { KindRouter } from '../adapters/routers.js';

/** The part of an informer a cached read uses. */
export interface CacheView<T extends KubeObject> {
  readonly synced: boolean;
  get(namespace: string, name: string): T | undefined;
}

/** What a cache lookup found: the object (or that it does not exist), or that the apiserver must be asked. */
export type Lookup<T> = { readonly hit: true; readonly value: T | undefined } | { readonly hit: false };

/** One informer's cache with the resourceVersions it must show before it is read again. */
export class FreshCache<T extends KubeObject> {
  /** `namespace/name` → the resourceVersion this process last saw of it (written or read fresh). */
  private readonly awaited = new Map<string, string>();

  constructor(
    private readonly view: CacheView<T>,
    private readonly resource: string,
    private readonly metrics?: OperatorMetrics,
    private readonly absentIsHit = true,
  ) {}

  lookup(ref: ObjectRef, opts: ReadOptions = {}): Lookup<T> {
    const result = this.find(ref, opts);
    this.metrics?.cacheReads.inc({ resource: this.resource, result: result.hit ? 'hit' : 'miss' });
    return result;
  }

  /** Records the version of an object read fresh or written; `undefined`: it is gone. */
  saw(ref: ObjectRef, resourceVersion: string | undefined): void {
    const key = `${ref.namespace}/${ref.name}`;
    if (resourceVersion) this.awaited.set(key, resourceVersion);
    else this.awaited.delete(key);
  }

  /** The object may have changed, to a version not known here: the next read goes to the apiserver. */
  changed(ref: ObjectRef): void {
    this.awaited.set(`${ref.namespace}/${ref.name}`, '');
  }

  private find(ref: ObjectRef, opts: ReadOptions): Lookup<T> {
    if (opts.fresh || !this.view.synced) return { hit: false };
    const key = `${ref.namespace}/${ref.name}`;
    const cached = this.view.get(ref.namespace, ref.name);
    const want = this.awaited.get(key);
    if (want !== undefined) {
      if (want === '' || cached?.metadata.resourceVersion !== want) return { hit: false };
      this.awaited.delete(key);
    }
    if (cached === undefined && !this.absentIsHit) return { hit: false };
    return { hit: true, value: cached };
  }
}

export interface CachedStoreOptions {
  readonly releases: CacheView<CanaryReleaseObject>;
  readonly deployments: CacheView<KubeObject>;
  /** Reads a Deployment fresh (`undefined` when it does not exist). */
  readonly getDeployment: (ref: ObjectRef) => Promise<Result<KubeObject | undefined, KubeError>>;
  readonly metrics?: OperatorMetrics;
}

type Store = ReleaseReader & StatusWriter & EventRecorder & DeploymentScaler;

/** The CanaryRelease store of the reconciler, reading releases and Deployments from the caches. */
export class CachedStore implements Store {
  private readonly releases: FreshCache<CanaryReleaseObject>;
  private readonly deployments: FreshCache<KubeObject>;
  private readonly getDeployment: CachedStoreOptions['getDeployment'];

  constructor(
    private readonly inner: Store,
    opts: CachedStoreOptions,
  ) {
    this.getDeployment = opts.getDeployment;
    this.releases = new FreshCache(opts.releases, 'canaryreleases', opts.metrics, false);
    this.deployments = new FreshCache(opts.deployments, 'deployments', opts.metrics);
  }

  async getRelease(ref: ObjectRef, opts?: ReadOptions): Promise<Result<CanaryReleaseObject, KubeError>> {
    const found = this.releases.lookup(ref, opts);
    if (found.hit && found.value) return ok(found.value);
    const res = await this.inner.getRelease(ref, opts);
    if (res.ok) this.releases.saw(ref, res.value.metadata.resourceVersion);
    else if (res.error.kind === 'NotFound') this.releases.saw(ref, undefined);
    return res;
  }

  async readiness(ref: ObjectRef, opts?: ReadOptions): Promise<Result<Readiness, KubeError>> {
    const found = this.deployments.lookup(ref, opts);
    if (found.hit) return ok(readinessOf(ref, found.value));
    const res = await this.getDeployment(ref);
    if (!res.ok) return res;
    this.deployments.saw(ref, res.value?.metadata.resourceVersion);
    return ok(readinessOf(ref, res.value));
  }

  async writeStatus(
    ref: ObjectRef,
    resourceVersion: string,
    previous: unknown,
    next: CanaryReleaseStatus,
  ): Promise<Result<StatusWrite, KubeError>> {
    const res = await this.inner.writeStatus(ref, resourceVersion, previous, next);
    if (res.ok && res.value.written) this.releases.saw(ref, res.value.resourceVersion);
    return res;
  }

  async scaleDeployment(ref: ObjectRef, replicas: number): Promise<Result<void, KubeError>> {
    const res = await this.inner.scaleDeployment(ref, replicas);
    this.deployments.changed(ref);
    return res;
  }

  emitEvent(...args: Parameters<EventRecorder['emitEvent']>): ReturnType<EventRecorder['emitEvent']> {
    return this.inner.emitEvent(...args);
  }
}

/** A router that can observe a route object it did not read itself (as `IstioRouter.observe`). */
export interface ObservingRouter<
  T = RouteTarget,
  S extends { readonly resourceVersion: string } = RouteSnapshot,
  O extends KubeObject = VirtualServiceObject,
> extends KindRouter<T, S> {
  observe(t: T, live: O | undefined): Promise<Result<S, KubeError>>;
}

/** Where a target's route object is: the resource (an informer's plural) and its name. */
export type RouteLocator<T> = (t: T) => { readonly resource: string; readonly ref: ObjectRef };

/**
 * A traffic router whose route reads come from an informer's cache (VirtualServices, HTTPRoutes,
 * GRPCRoutes) when it is fresh enough; the inner router observes the cached object (and, for a
 * release that owns its route, brings it to the template, a write conditional on the cached
 * version). A resource with no cache here (its CRDs are not served yet) is read fresh by the inner
 * router.
 */
export class CachedRouter<
  T = RouteTarget,
  S extends { readonly resourceVersion: string } = RouteSnapshot,
  O extends KubeObject = VirtualServiceObject,
> implements KindRouter<T, S> {
  private readonly caches = new Map<string, FreshCache<O>>();

  constructor(
    private readonly inner: ObservingRouter<T, S, O>,
    views: Readonly<Record<string, CacheView<O>>>,
    private readonly locate: RouteLocator<T>,
    private readonly metrics?: OperatorMetrics,
  ) {
    for (const [resource, view] of Object.entries(views)) this.watch(resource, view);
  }

  /** From now on, reads of `resource` come from `view` (its kind was not served before). */
  watch(resource: string, view: CacheView<O>): void {
    this.caches.set(resource, new FreshCache(view, resource, this.metrics));
  }

  async getRoutes(t: T, opts?: ReadOptions): Promise<Result<S, KubeError>> {
    const { resource, ref } = this.locate(t);
    const cache = this.caches.get(resource);
    if (!cache) return this.inner.getRoutes(t, opts);
    const found = cache.lookup(ref, opts);
    const res = found.hit ? await this.inner.observe(t, found.value) : await this.inner.getRoutes(t, opts);
    if (res.ok) {
      // A template written while observing is a new version: await it like any write.
      if (!found.hit || res.value.resourceVersion !== (found.value?.metadata.resourceVersion ?? ''))
        cache.saw(ref, res.value.resourceVersion || undefined);
    } else cache.changed(ref);
    return res;
  }

  async apply(t: T, snapshot: S, actions: readonly RouteAction[]): Promise<Result<S, RouterError>> {
    const res = await this.inner.apply(t, snapshot, actions);
    const { resource, ref } = this.locate(t);
    const cache = this.caches.get(resource);
    if (res.ok) cache?.saw(ref, res.value.resourceVersion || undefined);
    else cache?.changed(ref);
    return res;
  }
}
