/**
 * The one merge of a route object a release owns (a VirtualService, an HTTPRoute or a GRPCRoute
 * written from the CanaryRelease's `template`), as a pure function over a list of named routes:
 * the template's routes, with the release's own state carried over from the live object, so that
 * a new template (a GitOps change of the user's routes) never undoes what the release has done.
 *
 * What is carried over is the same for every kind: the release's state of the **managed** route
 * (its weights, its mirror to the canary, and for a VirtualService its fault: the kind says how,
 * {@link OwnedRouteKind.carryOver}), and the release's **header routes**, just before the managed
 * route. Every other route, and every other field of the managed route, is the template's.
 * Without a live object, or when it has no managed route, the template's routes are taken as they
 * are: the release starts from the template's weights.
 *
 * The kinds' own parts are in `routes.ts` (VirtualService `spec.http`) and `gateway-routes.ts`
 * (HTTPRoute and GRPCRoute `spec.rules`).
 */

/** A named entry of a route list (`spec.http[]` of a VirtualService, `spec.rules[]` of an HTTPRoute). */
export interface NamedRoute {
  name?: string;
}

/** What the merge needs to know of one route kind, for one release. */
export interface OwnedRouteKind<R extends NamedRoute> {
  /** Name of the managed route (`virtualService.route`, `httpRoute.rule`, `grpcRoute.rule`). */
  readonly managed: string;
  /** Whether `r` is a header route the release added. */
  isReleaseRoute(r: R): boolean;
  /**
   * Carries the release's state of the managed route from `live` into `into`, a copy of the
   * template's managed route that the function may change.
   */
  carryOver(into: R, live: R): void;
}

/** The routes of an owned route object: `template`'s, with the release's state from `live` (pure). */
export function ownedRoutes<R extends NamedRoute>(
  kind: OwnedRouteKind<R>,
  template: readonly R[],
  live: readonly R[] | undefined,
): R[] {
  const routes = template.map((r) => structuredClone(r));
  const i = routes.findIndex((r) => r.name === kind.managed);
  const was = live?.find((r) => r.name === kind.managed);
  if (i < 0 || !live || !was) return routes;
  // 1. the managed route's weights, mirror (and fault), as the release left them
  kind.carryOver(routes[i]!, was);
  // 2. the header routes of the release, before the managed route (a template that names a
  //    route like one of them keeps its own)
  const names = new Set(routes.map((r) => r.name));
  const headers = live.filter((r) => kind.isReleaseRoute(r) && !names.has(r.name));
  routes.splice(i, 0, ...headers.map((r) => structuredClone(r)));
  return routes;
}
