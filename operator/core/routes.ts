/**
 * The routes of one release in a user-owned VirtualService, as pure functions: what the driven
 * route looks like to `decide` ({@link observeRoutes}), and the JSON Patch that carries out
 * `decide`'s route actions ({@link routePatch}). The Istio router only reads and writes.
 *
 * What a patch touches, and nothing else (every other route and field stays byte-for-byte as it was):
 * - the **managed route**: the `spec.http[]` entry whose `name` is `spec.virtualService.route`. Of
 *   it, only the `weight` of the stable and canary destinations (the canary destination is added
 *   when missing, with the stable destination's host), and `mirror` / `mirrorPercentage`;
 * - the **header routes** it adds, named `<release>-<name>` (the CanaryRelease's name, a dash, the
 *   `headerRoute.name` of the step). Each is inserted just before the managed route, sends only
 *   to the canary subset, ANDs its header matches into each `match` entry of the managed route
 *   (so it never catches requests the managed route would not), and copies the managed route's
 *   other settings (timeout, retries, rewrite, headers, CORS) so the canary is reached the same way.
 * - the **fault** of a fault test (`fault`), whose scope is stated precisely below.
 *
 * Fault scope. Istio's `HTTPFaultInjection` belongs to an HTTP route and is applied by the
 * caller's proxy *before* a weighted destination is chosen, so no Istio config can put a fault on
 * one weighted destination of a route. The fault is therefore scoped as follows:
 * 1. When the release has header routes in the VirtualService, the fault goes on each of them:
 *    they send only to the canary, so exactly the canary's A/B traffic is faulted and stable's
 *    users are not.
 * 2. Otherwise the fault goes on the managed route: it then applies to the whole route, stable's
 *    share included, at the fault's percentage; the reconciler says so in a Warning Event
 *    (`FaultOnWholeRoute`). A plan that must not fault stable's users puts a `headerRoute` step
 *    before its `faultTest`.
 * In both cases Istio turns off the route's `timeout` and `retries` on the caller's side while a
 * fault is set ("timeouts or retries will not be enabled when faults are enabled"), and a fault
 * is seen by the caller's proxy (reporter="source"), not by the destination's. A fault the user
 * had already put on the managed route is read as this release's and removed with it.
 *
 * A patch is a `test` of the name of every route it addresses by index, the resourceVersion that
 * was read as a precondition, then the changes: applied to a VirtualService that changed since it
 * was read, it is refused rather than misapplied.
 */
import { pointerKey, resourceVersionPrecondition, type JsonPatchOp } from './json-patch.js';
import { err, ok, type Result } from './result.js';
import { ownedRoutes, type OwnedRouteKind } from './owned-routes.js';
import { destinationWeights } from '../../api/route-weights.js';
import { Reason } from '../../api/v1alpha1/constants.js';
import type {
  VirtualServiceSpec as IstioVirtualServiceSpec,
  VirtualServiceSpecHttp,
  VirtualServiceSpecHttpFault,
  VirtualServiceSpecHttpMatchHeaders,
  VirtualServiceSpecHttpRoute,
} from '../../imports/networking.istio.io.js';
import type { Action, Fault, RouteObservation } from './types.js';

/** The `type`s of the actions of `decide` that the router carries out. */
export const ROUTE_ACTION_TYPES = [
  'SetRoutes',
  'AddHeaderRoute',
  'RemoveHeaderRoute',
  'SetMirror',
  'SetFault',
  'RemoveFault',
] as const satisfies readonly Action['type'][];

/** The route actions of `decide` that the router carries out. */
export type RouteAction = Extract<Action, { type: (typeof ROUTE_ACTION_TYPES)[number] }>;

const ROUTE_ACTIONS: ReadonlySet<string> = new Set(ROUTE_ACTION_TYPES);

/** Whether `a` is carried out by the router. */
export function isRouteAction(a: Action): a is RouteAction {
  return ROUTE_ACTIONS.has(a.type);
}

/** Which route of which VirtualService one release drives. */
export interface RouteTarget {
  /** The kind of route object (see `gateway-routes.ts` for the others). @default 'VirtualService' */
  readonly kind?: 'VirtualService';
  readonly namespace: string;
  /** Name of the CanaryRelease: prefix of the routes it adds. */
  readonly release: string;
  /** The VirtualService. */
  readonly virtualService: string;
  /** `spec.http[].name` of the managed route. */
  readonly route: string;
  /** Service host, used for a destination the router adds when the route names none. */
  readonly service: string;
  readonly stableSubset: string;
  readonly canarySubset: string;
  /**
   * The VirtualService as the CanaryRelease's `virtualService.template` gives it, when the release
   * owns the VirtualService (see {@link ownedVirtualServiceSpec}).
   */
  readonly template?: { readonly spec: VirtualServiceSpec; readonly metadata?: TemplateMetadata };
}

/** Labels and annotations a template gives its VirtualService. */
export interface TemplateMetadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A generated type with its own fields writable: the patch is computed on a copy of the routes read. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** A weighted destination of an HTTP route. */
export type WeightedDestination = Writable<VirtualServiceSpecHttpRoute>;

/**
 * An entry of a VirtualService's `spec.http` as read and written; fields the router does not
 * read are kept as they are. The generated `mirrorPercent` is `mirror_percent` on the wire.
 */
export type HttpRoute = Writable<Omit<VirtualServiceSpecHttp, 'route' | 'mirrorPercent'>> & {
  route?: WeightedDestination[];
  mirror_percent?: number;
};

/** The spec of a VirtualService, with its HTTP routes as read. */
export type VirtualServiceSpec = Omit<IstioVirtualServiceSpec, 'http'> & { readonly http?: HttpRoute[] };

/** A VirtualService as far as its routes go. */
export interface VirtualServiceLike {
  readonly spec?: VirtualServiceSpec;
}

/** The managed route is not in the VirtualService: the patch cannot be made. */
export interface RouteMissing {
  readonly kind: 'RouteNotFound';
  readonly status: 0;
  readonly message: string;
}

/** The route name a header route of `release` gets. */
export function headerRouteName(release: string, name: string): string {
  return `${release}-${name}`;
}

function subsetOf(d: WeightedDestination): string | undefined {
  return d.destination?.subset;
}

function isHeaderRouteOf(t: RouteTarget, r: HttpRoute): boolean {
  const prefix = `${t.release}-`;
  return (
    typeof r.name === 'string' &&
    r.name.startsWith(prefix) &&
    r.name !== t.route &&
    (r.route ?? []).length > 0 &&
    (r.route ?? []).every((d) => subsetOf(d) === t.canarySubset)
  );
}

/** The observation of one VirtualService for one release (pure). */
export function observeRoutes(t: RouteTarget, vs: VirtualServiceLike | undefined): RouteObservation {
  if (!vs) return { found: false, reason: Reason.VirtualServiceNotFound };
  const http = vs.spec?.http ?? [];
  const managed = http.find((r) => r.name === t.route);
  if (!managed) {
    return {
      found: false,
      reason: Reason.RouteNotFound,
      available: http.map((r) => r.name).filter((n): n is string => typeof n === 'string'),
    };
  }
  let stableWeight = 0;
  let canaryWeight = 0;
  const dests = managed.route ?? [];
  const weights = destinationWeights(dests);
  dests.forEach((d, i) => {
    if (subsetOf(d) === t.stableSubset) stableWeight += weights[i]!;
    else if (subsetOf(d) === t.canarySubset) canaryWeight += weights[i]!;
  });
  const headers = http.filter((r) => isHeaderRouteOf(t, r));
  const mirrored = managed.mirror?.subset === t.canarySubset;
  const mirrorPercentage = mirrored ? (managed.mirrorPercentage?.value ?? 100) : 0;
  const fault = headers.length > 0 ? headers.some((r) => r.fault !== undefined) : managed.fault !== undefined;
  const otherRoutes = routesToSubsets(t, http, (r) => r !== managed && !headers.includes(r));
  return {
    found: true,
    stableWeight,
    canaryWeight,
    headerRoutes: headers.map((r) => r.name!.slice(t.release.length + 1)),
    mirrorPercentage,
    fault,
    ...(Object.keys(otherRoutes).length > 0 ? { otherRoutes } : {}),
  };
}

/** Whether a destination host names the release's service (short name or a longer form of it). */
function sameService(t: RouteTarget, host: string | undefined): boolean {
  return host === t.service || (host?.startsWith(`${t.service}.`) ?? false);
}

/**
 * The `counted` routes among `http` that send (with a weight above 0) or mirror to the stable or
 * canary subset of the release's service, by subset; unnamed routes are named by their index.
 */
function routesToSubsets(
  t: RouteTarget,
  http: readonly HttpRoute[],
  counted: (r: HttpRoute) => boolean,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [index, r] of http.entries()) {
    if (!counted(r)) continue;
    const weights = destinationWeights(r.route ?? []);
    const to = new Set<string>();
    (r.route ?? []).forEach((d, i) => {
      if (weights[i]! > 0 && sameService(t, d.destination?.host) && d.destination?.subset)
        to.add(d.destination.subset);
    });
    for (const m of [r.mirror, ...(r.mirrors ?? []).map((x) => x.destination)]) {
      if (m?.subset && sameService(t, m.host)) to.add(m.subset);
    }
    for (const subset of [t.stableSubset, t.canarySubset]) {
      if (to.has(subset)) (out[subset] ??= []).push(r.name ?? `http[${index}]`);
    }
  }
  return out;
}

/** Istio's fault object for a {@link Fault}. */
function istioFault(f: Fault): VirtualServiceSpecHttpFault {
  return {
    ...(f.delay
      ? { delay: { fixedDelay: f.delay.fixedDelay, percentage: { value: f.delay.percentage } } }
      : {}),
    ...(f.abort
      ? { abort: { httpStatus: f.abort.httpStatus, percentage: { value: f.abort.percentage } } }
      : {}),
  };
}

/** Fields of the managed route a header route does not copy. */
const NOT_COPIED: ReadonlySet<string> = new Set<keyof HttpRoute>([
  'name',
  'match',
  'route',
  'mirror',
  'mirrors',
  'mirrorPercentage',
  'mirror_percent',
  'fault',
]);

/** The header route sending requests that match `headers` (and the managed route) to the canary. */
export function buildHeaderRoute(
  t: RouteTarget,
  managed: HttpRoute,
  name: string,
  headers: Readonly<Record<string, VirtualServiceSpecHttpMatchHeaders>>,
): HttpRoute {
  const copied = Object.fromEntries(Object.entries(managed).filter(([k]) => !NOT_COPIED.has(k)));
  const base = managed.match && managed.match.length > 0 ? managed.match : [{}];
  const match = base.map((m) => ({
    ...m,
    headers: { ...m.headers, ...headers },
  }));
  const stableDest = (managed.route ?? []).find((d) => subsetOf(d) === t.stableSubset)?.destination;
  const host = stableDest?.host ?? t.service;
  return {
    ...copied,
    name: headerRouteName(t.release, name),
    match,
    route: [
      {
        destination: { host, subset: t.canarySubset, ...(stableDest?.port ? { port: stableDest.port } : {}) },
      },
    ],
  };
}

/**
 * The JSON Patch that carries out `actions` on `vs` (pure). Throws only on a bug (an action list
 * that refers to a route `observeRoutes` would not report).
 */
export function routePatch(
  t: RouteTarget,
  vs: VirtualServiceLike,
  resourceVersion: string,
  actions: readonly RouteAction[],
): Result<JsonPatchOp[], RouteMissing> {
  // Work on a copy of the route list; the patch is derived from the copy's final state per route.
  const original = vs.spec?.http ?? [];
  const http: HttpRoute[] = original.map((r) => structuredClone(r));
  const find = () => http.findIndex((r) => r.name === t.route);
  if (find() < 0) {
    return err({
      kind: 'RouteNotFound',
      status: 0,
      message: `VirtualService ${t.namespace}/${t.virtualService} has no HTTP route named "${t.route}"`,
    });
  }
  let faultWanted: Fault | undefined | null = null; // null: unchanged
  for (const a of actions) {
    const i = find();
    const managed = http[i]!;
    switch (a.type) {
      case 'SetRoutes': {
        const dests = (managed.route ??= []);
        const stable = dests.find((d) => subsetOf(d) === t.stableSubset);
        const canary = dests.find((d) => subsetOf(d) === t.canarySubset);
        const host = stable?.destination?.host ?? canary?.destination?.host ?? t.service;
        if (stable) stable.weight = a.stableWeight;
        else dests.push({ destination: { host, subset: t.stableSubset }, weight: a.stableWeight });
        if (canary) canary.weight = a.canaryWeight;
        else dests.push({ destination: { host, subset: t.canarySubset }, weight: a.canaryWeight });
        break;
      }
      case 'AddHeaderRoute': {
        const name = headerRouteName(t.release, a.name);
        if (http.some((r) => r.name === name)) break;
        http.splice(i, 0, buildHeaderRoute(t, managed, a.name, a.headers));
        break;
      }
      case 'RemoveHeaderRoute': {
        const j = http.findIndex(
          (r) => r.name === headerRouteName(t.release, a.name) && isHeaderRouteOf(t, r),
        );
        if (j >= 0) http.splice(j, 1);
        break;
      }
      case 'SetMirror': {
        const host = (managed.route ?? []).find((d) => subsetOf(d) === t.stableSubset)?.destination?.host;
        if (a.percentage > 0) {
          managed.mirror = { host: host ?? t.service, subset: t.canarySubset };
          managed.mirrorPercentage = { value: a.percentage };
        } else if (managed.mirror?.subset === t.canarySubset) {
          delete managed.mirror;
          delete managed.mirrorPercentage;
        }
        break;
      }
      case 'SetFault':
        faultWanted = a.fault;
        break;
      case 'RemoveFault':
        faultWanted = undefined;
        break;
    }
  }
  if (faultWanted !== null) {
    const headerRoutes = http.filter((r) => isHeaderRouteOf(t, r));
    const targets = headerRoutes.length > 0 ? headerRoutes : [http[find()]!];
    for (const r of targets) {
      if (faultWanted) r.fault = istioFault(faultWanted);
      else delete r.fault;
    }
    // A fault left on the managed route from before header routes existed is ours too.
    if (!faultWanted) delete http[find()]!.fault;
  }
  return ok(diffRoutes(t, original, http, resourceVersion));
}

/** Ours: the managed route and the release's header routes. */
function owned(t: RouteTarget, r: HttpRoute): boolean {
  return r.name === t.route || isHeaderRouteOf(t, r);
}

/**
 * The JSON Patch from `before` to `after`, which differ only in routes we own: removals of our
 * routes (highest index first), insertions, and per-field changes of the managed route and of
 * header routes. Every index-addressed route is guarded by a `test` of its name.
 */
function diffRoutes(t: RouteTarget, before: HttpRoute[], after: HttpRoute[], rv: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [resourceVersionPrecondition(rv)];
  const changes: JsonPatchOp[] = [];
  // 1. Remove our routes that are gone, or that moved among the others (a header route removed
  //    and added again in one pass lands elsewhere): from the end, so earlier indexes stay valid.
  const moved = movedRoutes(t, before, after);
  const afterNames = new Set(after.filter((r) => !moved.has(r.name)).map((r) => r.name));
  const work = [...before];
  for (let i = before.length - 1; i >= 0; i--) {
    const r = before[i]!;
    if (owned(t, r) && !afterNames.has(r.name)) {
      ops.push({ op: 'test', path: `/spec/http/${i}/name`, value: r.name });
      changes.push({ op: 'remove', path: `/spec/http/${i}` });
      work.splice(i, 1);
    }
  }
  // 2. Insert new routes at their final index (after is work plus insertions, in order).
  const workNames = new Set(work.map((r) => r.name));
  for (let i = 0; i < after.length; i++) {
    const r = after[i]!;
    if (!workNames.has(r.name)) {
      changes.push({ op: 'add', path: `/spec/http/${i}`, value: r });
      work.splice(i, 0, r);
    }
  }
  // 3. Field changes of the routes we own that existed before and kept their place.
  for (let i = 0; i < after.length; i++) {
    const now = after[i]!;
    if (!owned(t, now) || moved.has(now.name)) continue;
    const was = before.find((r) => r.name === now.name);
    if (!was) continue;
    const origIndex = before.indexOf(was);
    const fieldOps = fieldChanges(`/spec/http/${i}`, was, now);
    if (fieldOps.length > 0) {
      ops.push({ op: 'test', path: `/spec/http/${origIndex}/name`, value: now.name });
      changes.push(...fieldOps);
    }
  }
  return [...ops, ...changes];
}

/**
 * Names of our routes that are in both lists but not in the same order relative to the routes
 * both lists share: the diff removes and adds them again instead of patching them in place. The
 * user's routes never move (a pass only inserts and removes ours); if ours that stay would still
 * be out of order, every one of ours that both lists hold is taken as moved.
 */
function movedRoutes(t: RouteTarget, before: HttpRoute[], after: HttpRoute[]): Set<string | undefined> {
  const inAfter = new Set(after.map((r) => r.name));
  const inBefore = new Set(before.map((r) => r.name));
  const common = (list: HttpRoute[], other: Set<string | undefined>) =>
    list.filter((r) => other.has(r.name)).map((r) => r.name);
  const was = common(before, inAfter);
  const now = common(after, inBefore);
  const moved = new Set(
    was.filter(
      (name, i) =>
        now[i] !== name &&
        owned(
          t,
          before.find((r) => r.name === name)!,
        ),
    ),
  );
  const keep = (names: (string | undefined)[]) => names.filter((n) => !moved.has(n)).join('\u0000');
  if (keep(was) !== keep(now))
    for (const name of was)
      if (
        owned(
          t,
          before.find((r) => r.name === name)!,
        )
      )
        moved.add(name);
  return moved;
}

/** Per-field ops for one route; destinations' weights are patched one by one. */
function fieldChanges(base: string, was: HttpRoute, now: HttpRoute): JsonPatchOp[] {
  const out: JsonPatchOp[] = [];
  const keys = new Set([...Object.keys(was), ...Object.keys(now)]);
  for (const k of keys) {
    const a: unknown = (was as Record<string, unknown>)[k];
    const b: unknown = (now as Record<string, unknown>)[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const path = `${base}/${pointerKey(k)}`;
    if (k === 'route' && Array.isArray(a) && Array.isArray(b) && b.length >= a.length) {
      const wa = a as WeightedDestination[];
      const wb = b as WeightedDestination[];
      for (let j = 0; j < wb.length; j++) {
        if (j >= wa.length) out.push({ op: 'add', path: `${path}/${j}`, value: wb[j] });
        else if (JSON.stringify(wa[j]) !== JSON.stringify(wb[j])) {
          if (JSON.stringify(wa[j]!.destination) === JSON.stringify(wb[j]!.destination))
            out.push({ op: 'add', path: `${path}/${j}/weight`, value: wb[j]!.weight });
          else out.push({ op: 'replace', path: `${path}/${j}`, value: wb[j] });
        }
      }
      continue;
    }
    if (b === undefined) out.push({ op: 'remove', path });
    else out.push({ op: 'add', path, value: b });
  }
  return out;
}

/**
 * The spec of a VirtualService the release owns (pure): the template's, with the release's own
 * state carried over from the `live` VirtualService ({@link ownedRoutes}): of the managed route,
 * the weights of the stable and canary destinations (a destination the template lacks is added,
 * as {@link routePatch} adds it), the mirror to the canary, and the fault; and the release's
 * header routes, just before the managed route. Every other route and field is the template's.
 */
export function ownedVirtualServiceSpec(
  t: RouteTarget,
  template: VirtualServiceSpec,
  live: VirtualServiceLike | undefined,
): VirtualServiceSpec {
  const kind: OwnedRouteKind<HttpRoute> = {
    managed: t.route,
    isReleaseRoute: (r) => isHeaderRouteOf(t, r),
    carryOver: (managed, was) => carryOverRoute(t, managed, was),
  };
  return { ...template, http: ownedRoutes(kind, template.http ?? [], live?.spec?.http) };
}

/** The weights, mirror and fault of the live managed route `was`, carried into the template's `managed`. */
function carryOverRoute(t: RouteTarget, managed: HttpRoute, was: HttpRoute): void {
  const liveDests = was.route ?? [];
  const liveWeights = destinationWeights(liveDests);
  const dests = (managed.route ??= []);
  for (const subset of [t.stableSubset, t.canarySubset]) {
    const j = liveDests.findIndex((d) => subsetOf(d) === subset);
    if (j < 0) continue;
    const d = dests.find((x) => subsetOf(x) === subset);
    if (d) d.weight = liveWeights[j]!;
    else {
      const host = dests.find((x) => x.destination?.host)?.destination?.host ?? t.service;
      dests.push({ destination: { host, subset }, weight: liveWeights[j]! });
    }
  }
  delete managed.fault;
  if (managed.mirror?.subset === t.canarySubset) {
    delete managed.mirror;
    delete managed.mirrorPercentage;
  }
  if (was.mirror?.subset === t.canarySubset) {
    managed.mirror = structuredClone(was.mirror);
    if (was.mirrorPercentage) managed.mirrorPercentage = structuredClone(was.mirrorPercentage);
  }
  if (was.fault) managed.fault = structuredClone(was.fault);
}
