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
 */
import { err, ok, type Result } from '../core/result.js';
import {
  observeRoutes,
  routePatch,
  type RouteAction,
  type RouteMissing,
  type RouteTarget,
  type VirtualServiceSpec,
} from '../core/routes.js';
import type { RouteObservation } from '../core/types.js';
import {
  VIRTUAL_SERVICES,
  type KubeClient,
  type KubeError,
  type KubeObject,
  type ObjectRef,
} from './kubernetes.js';

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

/** Why the router could not carry out its actions. */
export type RouterError = KubeError | RouteMissing;

/** The Istio traffic router of one apiserver. */
export class IstioRouter {
  constructor(private readonly client: KubeClient) {}

  /** Reads the VirtualService fresh and observes the driven route. */
  async getRoutes(t: RouteTarget): Promise<Result<RouteSnapshot, KubeError>> {
    const res = await this.client.get<VirtualServiceObject>(VIRTUAL_SERVICES, this.ref(t));
    if (!res.ok) {
      if (res.error.kind === 'NotFound')
        return ok({ observation: observeRoutes(t, undefined), resourceVersion: '' });
      return res;
    }
    return ok({
      observation: observeRoutes(t, res.value),
      resourceVersion: res.value.metadata.resourceVersion ?? '',
      virtualService: res.value,
    });
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
    return ok({
      observation: observeRoutes(t, res.value),
      resourceVersion: res.value.metadata.resourceVersion ?? '',
      virtualService: res.value,
    });
  }

  private ref(t: RouteTarget): ObjectRef {
    return { namespace: t.namespace, name: t.virtualService };
  }
}
