/**
 * The Istio traffic router, shaped like Flagger's router: `getRoutes` reads the driven route of a
 * user-owned VirtualService into a {@link RouteObservation}, and `apply` carries out `decide`'s
 * route actions. What a write touches, and the JSON Patch itself, are computed by the pure
 * functions of `core/routes.ts`; this class only reads and writes.
 *
 * Writes are one JSON Patch per `apply`, conditional on the resourceVersion that was read and on
 * the names of the routes it addresses by index. A VirtualService changed since it was read is
 * refused (409, or 422 for a failed test), reported as `Conflict`, and the caller re-observes and
 * decides again.
 *
 * A release with a `virtualService.template` owns its VirtualService: `getRoutes` first creates
 * it from the template, or writes a changed template into it (carrying the release's own state
 * over, {@link ownedVirtualServiceSpec}). The VirtualService records the digest of the template
 * it holds, so an unchanged template is never written again: a GitOps tool re-applying the
 * CanaryRelease causes no write, and nobody else's edit of the VirtualService is undone (the
 * write itself is `owned-route.ts`'s, shared with the Gateway API router).
 */
import { err, ok, type Result } from '../core/result.js';
import {
  observeRoutes,
  ownedVirtualServiceSpec,
  routePatch,
  type RouteAction,
  type RouteMissing,
  type RouteTarget,
  type VirtualServiceSpec,
} from '../core/routes.js';
import type { RouteUnsupported } from '../core/gateway-routes.js';
import type { RouteObservation } from '../core/types.js';
import {
  VIRTUAL_SERVICES,
  type KubeClient,
  type KubeError,
  type KubeObject,
  type ObjectRef,
} from './kubernetes.js';
import { syncOwnedObject } from './owned-route.js';

/** A VirtualService as the router reads it. */
export interface VirtualServiceObject extends KubeObject {
  readonly spec?: VirtualServiceSpec;
}

/** What `getRoutes` read: the observation for `decide`, and what `apply` needs to write safely. */
export interface RouteSnapshot {
  readonly observation: RouteObservation;
  /** resourceVersion of the VirtualService read; `''` when it does not exist. */
  readonly resourceVersion: string;
  /** The VirtualService read (undefined when it does not exist). */
  readonly virtualService?: VirtualServiceObject;
}

/** Why a router could not carry out its actions. */
export type RouterError = KubeError | RouteMissing | RouteUnsupported;

/** What the router knows of `t`'s route from the VirtualService `vs` as read (undefined: it does not exist). */
export function routeSnapshot(t: RouteTarget, vs: VirtualServiceObject | undefined): RouteSnapshot {
  return vs
    ? {
        observation: observeRoutes(t, vs),
        resourceVersion: vs.metadata.resourceVersion ?? '',
        virtualService: vs,
      }
    : { observation: observeRoutes(t, undefined), resourceVersion: '' };
}

/** The Istio traffic router of one apiserver. */
export class IstioRouter {
  constructor(private readonly client: KubeClient) {}

  /**
   * Reads the VirtualService fresh and observes the driven route; for a release that owns it,
   * first brings it to the template (`Conflict` if it changed between the read and the write).
   */
  async getRoutes(t: RouteTarget): Promise<Result<RouteSnapshot, KubeError>> {
    const res = await this.client.get<VirtualServiceObject>(VIRTUAL_SERVICES, this.ref(t));
    if (!res.ok && res.error.kind !== 'NotFound') return res;
    return this.observe(t, res.ok ? res.value : undefined);
  }

  /**
   * Observes the driven route in the VirtualService `live` as read (from the apiserver or a
   * cache; undefined: it does not exist); for a release that owns it, first brings it to the
   * template (`Conflict` if it changed since `live` was read).
   */
  async observe(
    t: RouteTarget,
    live: VirtualServiceObject | undefined,
  ): Promise<Result<RouteSnapshot, KubeError>> {
    const synced = t.template ? await this.syncTemplate(t, t.template, live) : ok(live);
    if (!synced.ok) return synced;
    return ok(routeSnapshot(t, synced.value));
  }

  /** Creates the VirtualService a release owns, or writes its changed template into it. */
  private syncTemplate(
    t: RouteTarget,
    template: NonNullable<RouteTarget['template']>,
    live: VirtualServiceObject | undefined,
  ): Promise<Result<VirtualServiceObject | undefined, KubeError>> {
    return syncOwnedObject(
      this.client,
      {
        type: VIRTUAL_SERVICES,
        kind: 'VirtualService',
        namespace: t.namespace,
        name: t.virtualService,
        release: t.release,
        template,
        merge: (vs) => ownedVirtualServiceSpec(t, template.spec, vs),
      },
      live,
    );
  }

  /**
   * Carries out `actions` in one JSON Patch against the VirtualService as it was in `snapshot`.
   * `Conflict` means it changed since: observe again and decide again. Returns the new snapshot.
   */
  async apply(
    t: RouteTarget,
    snapshot: RouteSnapshot,
    actions: readonly RouteAction[],
  ): Promise<Result<RouteSnapshot, RouterError>> {
    if (actions.length === 0) return ok(snapshot);
    if (!snapshot.virtualService) {
      return err({
        kind: 'RouteNotFound',
        status: 0,
        message: `VirtualService ${t.namespace}/${t.virtualService} does not exist`,
      });
    }
    const patch = routePatch(t, snapshot.virtualService, snapshot.resourceVersion, actions);
    if (!patch.ok) return patch;
    if (patch.value.every((op) => op.op === 'test' || op.path === '/metadata/resourceVersion'))
      return ok(snapshot);
    const res = await this.client.jsonPatch<VirtualServiceObject>(VIRTUAL_SERVICES, this.ref(t), patch.value);
    if (!res.ok) return res;
    return ok(routeSnapshot(t, res.value));
  }

  private ref(t: RouteTarget): ObjectRef {
    return { namespace: t.namespace, name: t.virtualService };
  }
}
