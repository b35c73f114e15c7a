/**
 * The traffic routers of one apiserver behind the one interface the reconciler calls: a release
 * that names a `virtualService` goes to the Istio router, one that names an `httpRoute` or a
 * `grpcRoute` to the Gateway API router (Flagger picks its router per mesh provider the same way).
 */
import { isGatewayTarget, type GatewayRouteTarget } from '../core/gateway-routes.js';
import type { Result } from '../core/result.js';
import type { RouteAction, RouteTarget } from '../core/routes.js';
import type { GatewayRouteSnapshot } from './gateway-api-router.js';
import type { RouteSnapshot, RouterError } from './istio-router.js';
import type { KubeError } from './kubernetes.js';

/** Which route of which object a release drives: a VirtualService route, or a Gateway API rule. */
export type TrafficTarget = RouteTarget | GatewayRouteTarget;

/** What a router read, for `decide` (`observation`) and for the write that follows. */
export type TrafficSnapshot = RouteSnapshot | GatewayRouteSnapshot;

/** A router of one route kind: `getRoutes` (with the caller's read options) and `apply`. */
export interface KindRouter<T, S> {
  getRoutes(t: T, opts?: { readonly fresh?: boolean }): Promise<Result<S, KubeError>>;
  apply(t: T, snapshot: S, actions: readonly RouteAction[]): Promise<Result<S, RouterError>>;
}

/** Both routers, each release sent to the one its route kind needs. */
export class TrafficRouters {
  constructor(
    /** VirtualService routes: `IstioRouter`, or its cached wrapper. */
    readonly istio: KindRouter<RouteTarget, RouteSnapshot>,
    /** HTTPRoute and GRPCRoute rules: `GatewayApiRouter`. */
    readonly gatewayApi: KindRouter<GatewayRouteTarget, GatewayRouteSnapshot>,
  ) {}

  getRoutes(
    t: TrafficTarget,
    opts?: { readonly fresh?: boolean },
  ): Promise<Result<TrafficSnapshot, KubeError>> {
    return isGatewayTarget(t) ? this.gatewayApi.getRoutes(t, opts) : this.istio.getRoutes(t, opts);
  }

  apply(
    t: TrafficTarget,
    snapshot: TrafficSnapshot,
    actions: readonly RouteAction[],
  ): Promise<Result<TrafficSnapshot, RouterError>> {
    return isGatewayTarget(t)
      ? this.gatewayApi.apply(t, snapshot as GatewayRouteSnapshot, actions)
      : this.istio.apply(t, snapshot as RouteSnapshot, actions);
  }
}
