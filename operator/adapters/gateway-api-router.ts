/**
 * The Gateway API traffic router, shaped like Flagger's router and behind the same interface as
 * the Istio one: `getRoutes` reads the driven rule of a user-owned HTTPRoute or GRPCRoute into a
 * {@link RouteObservation}, and `apply` carries out `decide`'s route actions on its backendRef
 * weights, its canary mirror filter and the header rules it adds. What a write touches, and the
 * JSON Patch itself, are computed by the pure functions of `core/gateway-routes.ts`.
 *
 * Writes are one JSON Patch per `apply`, conditional on the resourceVersion that was read and on
 * the names of the rules it addresses by index: a route changed since it was read is refused
 * (409, or 422 for a failed test), reported as `Conflict`, and the caller re-observes.
 *
 * A release with an `httpRoute.template` / `grpcRoute.template` owns its route: `getRoutes` first
 * creates it from the template, or writes a changed template into it (carrying the release's own
 * state over, {@link ownedGatewayRouteSpec}), as the Istio router does for a VirtualService
 * (`owned-route.ts`): an unchanged template, by its digest, is never written again.
 */
import {
  gatewayRoutePatch,
  observeGatewayRoute,
  ownedGatewayRouteSpec,
  type GatewayRouteSpec,
  type GatewayRouteTarget,
} from '../core/gateway-routes.js';
import { err, ok, type Result } from '../core/result.js';
import type { RouteAction } from '../core/routes.js';
import type { RouteObservation } from '../core/types.js';
import {
  GRPC_ROUTES,
  HTTP_ROUTES,
  type KubeClient,
  type KubeError,
  type KubeObject,
  type ObjectRef,
} from './kubernetes.js';
import type { RouterError } from './istio-router.js';
import { syncOwnedObject } from './owned-route.js';

/** An HTTPRoute or GRPCRoute as the router reads it. */
export interface GatewayRouteObject extends KubeObject {
  readonly spec?: GatewayRouteSpec;
}

/** What `getRoutes` read: the observation for `decide`, and what `apply` needs to write safely. */
export interface GatewayRouteSnapshot {
  readonly observation: RouteObservation;
  /** resourceVersion of the route read; `''` when it does not exist. */
  readonly resourceVersion: string;
  /** The HTTPRoute or GRPCRoute read (undefined when it does not exist). */
  readonly route?: GatewayRouteObject;
}

/** The Gateway API traffic router of one apiserver. */
export class GatewayApiRouter {
  constructor(private readonly client: KubeClient) {}

  /**
   * Reads the route fresh and observes the driven rule; for a release that owns it, first brings
   * it to the template (`Conflict` if it changed between the read and the write).
   */
  async getRoutes(t: GatewayRouteTarget): Promise<Result<GatewayRouteSnapshot, KubeError>> {
    const res = await this.client.get<GatewayRouteObject>(this.type(t), this.ref(t));
    if (!res.ok && res.error.kind !== 'NotFound') return res;
    return this.observe(t, res.ok ? res.value : undefined);
  }

  /**
   * Observes the driven rule in the route `live` as read (from the apiserver or a cache;
   * undefined: it does not exist); for a release that owns it, first brings it to the template
   * (`Conflict` if it changed since `live` was read).
   */
  async observe(
    t: GatewayRouteTarget,
    live: GatewayRouteObject | undefined,
  ): Promise<Result<GatewayRouteSnapshot, KubeError>> {
    const template = t.template;
    const synced = template
      ? await syncOwnedObject(
          this.client,
          {
            type: this.type(t),
            kind: t.kind,
            namespace: t.namespace,
            name: t.name,
            release: t.release,
            template,
            merge: (route) => ownedGatewayRouteSpec(t, template.spec, route),
          },
          live,
        )
      : ok(live);
    if (!synced.ok) return synced;
    return ok(
      synced.value
        ? this.snapshot(t, synced.value)
        : { observation: observeGatewayRoute(t, undefined), resourceVersion: '' },
    );
  }

  /**
   * Carries out `actions` in one JSON Patch against the route as it was in `snapshot`.
   * `Conflict` means it changed since: observe again and decide again. Returns the new snapshot.
   */
  async apply(
    t: GatewayRouteTarget,
    snapshot: GatewayRouteSnapshot,
    actions: readonly RouteAction[],
  ): Promise<Result<GatewayRouteSnapshot, RouterError>> {
    if (actions.length === 0) return ok(snapshot);
    if (!snapshot.route) {
      return err({
        kind: 'RouteNotFound',
        status: 0,
        message: `${t.kind} ${t.namespace}/${t.name} does not exist`,
      });
    }
    const patch = gatewayRoutePatch(t, snapshot.route, snapshot.resourceVersion, actions);
    if (!patch.ok) return patch;
    if (patch.value.every((op) => op.op === 'test' || op.path === '/metadata/resourceVersion'))
      return ok(snapshot);
    const res = await this.client.jsonPatch<GatewayRouteObject>(this.type(t), this.ref(t), patch.value);
    if (!res.ok) return res;
    return ok(this.snapshot(t, res.value));
  }

  private snapshot(t: GatewayRouteTarget, route: GatewayRouteObject): GatewayRouteSnapshot {
    return {
      observation: observeGatewayRoute(t, route),
      resourceVersion: route.metadata.resourceVersion ?? '',
      route,
    };
  }

  private type(t: GatewayRouteTarget) {
    return t.kind === 'HTTPRoute' ? HTTP_ROUTES : GRPC_ROUTES;
  }

  private ref(t: GatewayRouteTarget): ObjectRef {
    return { namespace: t.namespace, name: t.name };
  }
}
