/**
 * The routes of one release in a user-owned HTTPRoute or GRPCRoute (Gateway API), as pure
 * functions: what the driven rule looks like to `decide` ({@link observeGatewayRoute}), and the
 * JSON Patch that carries out `decide`'s route actions ({@link gatewayRoutePatch}). The Gateway
 * API router only reads and writes. The VirtualService counterpart is `routes.ts`.
 *
 * The Gateway API has no subsets: each version is a Service of its own (`<service>-<subset>`, as
 * the constructs synthesize, or the spec's `stable.service` / `canary.service`), and a rule shares
 * its traffic among its `backendRefs` by weight. What a patch touches, and nothing else:
 * - the **managed rule**: the `spec.rules[]` entry whose `name` is the spec's `rule`. Of it, only
 *   the `weight` of the stable and canary backendRefs (the canary backendRef is added when
 *   missing, with the stable one's port), and the `RequestMirror` filter whose backendRef is the
 *   canary Service;
 * - the **header rules** it adds, named `<release>-<name>`. Each is inserted just before the
 *   managed rule, sends only to the canary Service, adds its header matches to each of the
 *   managed rule's matches (so it never catches requests the managed rule would not; with more
 *   header matches it also takes precedence over the managed rule, as the Gateway API orders
 *   matches), and copies the managed rule's other fields and filters (timeouts, header
 *   modifiers, rewrites) so the canary is reached the same way.
 * There is no fault injection in the Gateway API: a spec with a `faultTest` is refused before it
 * gets here, and a fault action is refused as unsupported.
 *
 * A patch is the resourceVersion that was read as a precondition, a `test` of the name of every
 * rule it addresses by index, then the changes: applied to a route that changed since it was
 * read, it is refused rather than misapplied.
 */
import { gatewayValueMatch } from '../../api/gateway-match.js';
import { backendShares } from '../../api/route-weights.js';
import { Reason } from '../../api/v1alpha1/constants.js';
import type { StringMatch } from '../../api/v1alpha1/canary-release.js';
import type {
  GrpcRouteSpecRulesBackendRefs,
  HttpRouteSpecRulesBackendRefs,
  HttpRouteSpecRulesFiltersRequestMirror,
  HttpRouteSpecRulesMatchesHeaders,
} from '../../imports/gateway.networking.k8s.io.js';
import { pointerKey, resourceVersionPrecondition, type JsonPatchOp } from './json-patch.js';
import { err, ok, type Result } from './result.js';
import { ownedRoutes, type OwnedRouteKind } from './owned-routes.js';
import type { RouteAction, RouteMissing, TemplateMetadata } from './routes.js';
import type { RouteObservation } from './types.js';

/** Which rule of which HTTPRoute or GRPCRoute one release drives. */
export interface GatewayRouteTarget {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  /** Name of the CanaryRelease: prefix of the rules it adds. */
  readonly release: string;
  /** The HTTPRoute or GRPCRoute. */
  readonly name: string;
  /** `spec.rules[].name` of the managed rule. */
  readonly rule: string;
  /** The stable version's subset (its name in the release's status and observations). */
  readonly stableSubset: string;
  /** The canary version's subset. */
  readonly canarySubset: string;
  /** The Service that is the stable version's backendRef. */
  readonly stableBackend: string;
  /** The Service that is the canary version's backendRef. */
  readonly canaryBackend: string;
  /**
   * The route as the CanaryRelease's `httpRoute.template` / `grpcRoute.template` gives it, when
   * the release owns the route (see {@link ownedGatewayRouteSpec}).
   */
  readonly template?: { readonly spec: GatewayRouteSpec; readonly metadata?: TemplateMetadata };
}

/** Whether a release's target is a Gateway API rule (else a VirtualService route). */
export function isGatewayTarget(t: { readonly kind?: string }): t is GatewayRouteTarget {
  return t.kind === 'HTTPRoute' || t.kind === 'GRPCRoute';
}

/** A generated type with its own fields writable: the patch is computed on a copy of the rules read. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** A backendRef of a rule (HTTPRoute and GRPCRoute share the fields read here). */
export type BackendRef = Writable<HttpRouteSpecRulesBackendRefs | GrpcRouteSpecRulesBackendRefs>;

/** A filter of a rule as read; only `RequestMirror` is looked into. */
export interface RuleFilter {
  type: string;
  requestMirror?: Writable<HttpRouteSpecRulesFiltersRequestMirror>;
  [field: string]: unknown;
}

/** A match of a rule as read; only its `headers` are written. */
export interface RuleMatch {
  /** As `HttpRouteSpecRulesMatchesHeaders`, with `type` as the wire's string. */
  headers?: (Omit<Writable<HttpRouteSpecRulesMatchesHeaders>, 'type'> & { type?: string })[];
  [field: string]: unknown;
}

/** A rule of an HTTPRoute or GRPCRoute; fields the router does not read are kept as they are. */
export interface GatewayRule {
  name?: string;
  matches?: RuleMatch[];
  filters?: RuleFilter[];
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

/** The spec of an HTTPRoute or GRPCRoute, with its rules as read; other fields are kept as they are. */
export interface GatewayRouteSpec {
  readonly rules?: GatewayRule[];
  readonly [field: string]: unknown;
}

/** An HTTPRoute or GRPCRoute as far as its rules go. */
export interface GatewayRouteLike {
  readonly spec?: GatewayRouteSpec;
}

/** A route action the Gateway API cannot carry out (a fault: it has no fault injection). */
export interface RouteUnsupported {
  readonly kind: 'Unsupported';
  readonly status: 0;
  readonly message: string;
}

/** The rule name a header rule of `release` gets. */
export function headerRuleName(release: string, name: string): string {
  return `${release}-${name}`;
}

/** Whether a backendRef (or a mirror's) names the Service `service` of the route's namespace. */
function refersTo(
  t: GatewayRouteTarget,
  ref: { group?: string; kind?: string; name: string; namespace?: string } | undefined,
  service: string,
): boolean {
  return (
    ref !== undefined &&
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    ref.name === service &&
    (ref.namespace ?? t.namespace) === t.namespace
  );
}

function isHeaderRuleOf(t: GatewayRouteTarget, r: GatewayRule): boolean {
  const refs = r.backendRefs ?? [];
  return (
    typeof r.name === 'string' &&
    r.name.startsWith(`${t.release}-`) &&
    r.name !== t.rule &&
    refs.length > 0 &&
    refs.every((b) => refersTo(t, b, t.canaryBackend))
  );
}

/** The mirror filter of a rule that copies requests to the canary Service. */
function canaryMirror(t: GatewayRouteTarget, r: GatewayRule): RuleFilter | undefined {
  return (r.filters ?? []).find(
    (f) => f.type === 'RequestMirror' && refersTo(t, f.requestMirror?.backendRef, t.canaryBackend),
  );
}

/** The share of requests a RequestMirror filter copies, in percent (all when neither field is set). */
function mirrorPercent(f: RuleFilter): number {
  const m = f.requestMirror;
  if (m?.percent !== undefined) return m.percent;
  if (m?.fraction) return (m.fraction.numerator * 100) / (m.fraction.denominator ?? 100);
  return 100;
}

/** The observation of one HTTPRoute or GRPCRoute for one release (pure). */
export function observeGatewayRoute(
  t: GatewayRouteTarget,
  route: GatewayRouteLike | undefined,
): RouteObservation {
  if (!route) {
    return {
      found: false,
      reason: t.kind === 'HTTPRoute' ? Reason.HTTPRouteNotFound : Reason.GRPCRouteNotFound,
    };
  }
  const rules = route.spec?.rules ?? [];
  const managed = rules.find((r) => r.name === t.rule);
  if (!managed) {
    return {
      found: false,
      reason: Reason.RouteNotFound,
      available: rules.map((r) => r.name).filter((n): n is string => typeof n === 'string'),
    };
  }
  const refs = managed.backendRefs ?? [];
  const shares = backendShares(refs);
  let stable = 0;
  let canary = 0;
  refs.forEach((b, i) => {
    if (refersTo(t, b, t.stableBackend)) stable += shares[i]!;
    else if (refersTo(t, b, t.canaryBackend)) canary += shares[i]!;
  });
  const headers = rules.filter((r) => isHeaderRuleOf(t, r));
  const mirror = canaryMirror(t, managed);
  const otherRoutes = rulesToBackends(t, rules, (r) => r !== managed && !headers.includes(r));
  return {
    found: true,
    stableWeight: Math.round(stable),
    canaryWeight: Math.round(canary),
    headerRoutes: headers.map((r) => r.name!.slice(t.release.length + 1)),
    mirrorPercentage: mirror ? mirrorPercent(mirror) : 0,
    fault: false,
    ...(Object.keys(otherRoutes).length > 0 ? { otherRoutes } : {}),
  };
}

/**
 * The `counted` rules that send (a share above 0) or mirror to the stable or canary Service, by
 * the version's subset (as `decide` names versions); unnamed rules are named by their index.
 */
function rulesToBackends(
  t: GatewayRouteTarget,
  rules: readonly GatewayRule[],
  counted: (r: GatewayRule) => boolean,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const sides = [
    [t.stableSubset, t.stableBackend],
    [t.canarySubset, t.canaryBackend],
  ] as const;
  for (const [index, r] of rules.entries()) {
    if (!counted(r)) continue;
    const shares = backendShares(r.backendRefs ?? []);
    for (const [side, service] of sides) {
      const sends = (r.backendRefs ?? []).some((b, i) => shares[i]! > 0 && refersTo(t, b, service));
      const mirrors = (r.filters ?? []).some(
        (f) => f.type === 'RequestMirror' && refersTo(t, f.requestMirror?.backendRef, service),
      );
      if (sends || mirrors) (out[side] ??= []).push(r.name ?? `rules[${index}]`);
    }
  }
  return out;
}

/** Filters of the managed rule a header rule does not copy: the mirror to the canary. */
function copiedFilters(t: GatewayRouteTarget, managed: GatewayRule): RuleFilter[] {
  const mirror = canaryMirror(t, managed);
  return (managed.filters ?? []).filter((f) => f !== mirror);
}

/** The rule sending requests that match `headers` (and the managed rule) to the canary Service. */
export function buildHeaderRule(
  t: GatewayRouteTarget,
  managed: GatewayRule,
  name: string,
  headers: Readonly<Record<string, StringMatch>>,
): GatewayRule {
  const added = Object.entries(headers).map(([h, m]) => ({ name: h, ...gatewayValueMatch(m) }));
  const lower = new Set(added.map((h) => h.name.toLowerCase()));
  const base = managed.matches && managed.matches.length > 0 ? managed.matches : [{}];
  const matches = base.map((m) => ({
    ...structuredClone(m),
    headers: [...(m.headers ?? []).filter((h) => !lower.has(h.name.toLowerCase())), ...added],
  }));
  const stable = (managed.backendRefs ?? []).find((b) => refersTo(t, b, t.stableBackend));
  const filters = copiedFilters(t, managed);
  const rest = Object.fromEntries(
    Object.entries(managed).filter(([k]) => !['name', 'matches', 'filters', 'backendRefs'].includes(k)),
  );
  return {
    ...structuredClone(rest),
    name: headerRuleName(t.release, name),
    matches,
    ...(filters.length > 0 ? { filters: structuredClone(filters) } : {}),
    backendRefs: [backendRefTo(t.canaryBackend, stable)],
  };
}

/** A backendRef to `service`, shaped like `like` (its group, kind and port). */
function backendRefTo(service: string, like: BackendRef | undefined, weight?: number): BackendRef {
  return {
    ...(like?.group !== undefined ? { group: like.group } : {}),
    ...(like?.kind !== undefined ? { kind: like.kind } : {}),
    name: service,
    ...(like?.port !== undefined ? { port: like.port } : {}),
    ...(weight !== undefined ? { weight } : {}),
  };
}

/** A RequestMirror share: `percent` when whole, otherwise the exact `fraction` (per million). */
function mirrorShare(
  p: number,
): Pick<Writable<HttpRouteSpecRulesFiltersRequestMirror>, 'percent' | 'fraction'> {
  return Number.isInteger(p)
    ? { percent: p }
    : { fraction: { numerator: Math.round(p * 10_000), denominator: 1_000_000 } };
}

/** The JSON Patch that carries out `actions` on `route` (pure). */
export function gatewayRoutePatch(
  t: GatewayRouteTarget,
  route: GatewayRouteLike,
  resourceVersion: string,
  actions: readonly RouteAction[],
): Result<JsonPatchOp[], RouteMissing | RouteUnsupported> {
  const original = route.spec?.rules ?? [];
  const rules: GatewayRule[] = original.map((r) => structuredClone(r));
  const find = () => rules.findIndex((r) => r.name === t.rule);
  if (find() < 0) {
    return err({
      kind: 'RouteNotFound',
      status: 0,
      message: `${t.kind} ${t.namespace}/${t.name} has no rule named "${t.rule}"`,
    });
  }
  for (const a of actions) {
    const i = find();
    const managed = rules[i]!;
    switch (a.type) {
      case 'SetRoutes': {
        const refs = (managed.backendRefs ??= []);
        const stable = refs.find((b) => refersTo(t, b, t.stableBackend));
        const canary = refs.find((b) => refersTo(t, b, t.canaryBackend));
        if (!stable && !canary) {
          return err({
            kind: 'RouteNotFound',
            status: 0,
            message: `rule "${t.rule}" of ${t.kind} ${t.namespace}/${t.name} has no backendRef to Service ${t.stableBackend} or ${t.canaryBackend}: add both (with their port) to the rule`,
          });
        }
        if (stable) stable.weight = a.stableWeight;
        else refs.push(backendRefTo(t.stableBackend, canary, a.stableWeight));
        if (canary) canary.weight = a.canaryWeight;
        else refs.push(backendRefTo(t.canaryBackend, stable, a.canaryWeight));
        break;
      }
      case 'AddHeaderRoute': {
        const name = headerRuleName(t.release, a.name);
        if (rules.some((r) => r.name === name)) break;
        rules.splice(i, 0, buildHeaderRule(t, managed, a.name, a.headers));
        break;
      }
      case 'RemoveHeaderRoute': {
        const j = rules.findIndex(
          (r) => r.name === headerRuleName(t.release, a.name) && isHeaderRuleOf(t, r),
        );
        if (j >= 0) rules.splice(j, 1);
        break;
      }
      case 'SetMirror': {
        const existing = canaryMirror(t, managed);
        const others = (managed.filters ?? []).filter((f) => f !== existing);
        if (a.percentage > 0) {
          const stable = (managed.backendRefs ?? []).find((b) => refersTo(t, b, t.stableBackend));
          const { weight: _w, ...backendRef } = backendRefTo(t.canaryBackend, stable);
          managed.filters = [
            ...others,
            { type: 'RequestMirror', requestMirror: { backendRef, ...mirrorShare(a.percentage) } },
          ];
        } else if (existing) {
          if (others.length > 0) managed.filters = others;
          else delete managed.filters;
        }
        break;
      }
      case 'SetFault':
      case 'RemoveFault':
        if (a.type === 'RemoveFault') break; // nothing to remove: no fault is ever set
        return err({
          kind: 'Unsupported',
          status: 0,
          message: `${t.kind} ${t.namespace}/${t.name}: the Gateway API has no fault injection; a faultTest needs a VirtualService route`,
        });
    }
  }
  return ok(diffRules(t, original, rules, resourceVersion));
}

/** Ours: the managed rule and the release's header rules. */
function owned(t: GatewayRouteTarget, r: GatewayRule): boolean {
  return r.name === t.rule || isHeaderRuleOf(t, r);
}

/**
 * The JSON Patch from `before` to `after`, which differ only in rules we own (a pass inserts and
 * removes header rules and changes the managed rule; the user's rules never move): removals from
 * the end, insertions at their final index, then per-field changes of ours. Every op addressing a
 * rule by index is preceded by a `test` of its name at that index.
 */
function diffRules(
  t: GatewayRouteTarget,
  before: readonly GatewayRule[],
  after: readonly GatewayRule[],
  rv: string,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [resourceVersionPrecondition(rv)];
  const at = (i: number) => `/spec/rules/${i}`;
  const afterNames = new Set(after.map((r) => r.name));
  const work = [...before];
  for (let i = work.length - 1; i >= 0; i--) {
    const r = work[i]!;
    if (owned(t, r) && !afterNames.has(r.name)) {
      ops.push({ op: 'test', path: `${at(i)}/name`, value: r.name });
      ops.push({ op: 'remove', path: at(i) });
      work.splice(i, 1);
    }
  }
  const workNames = new Set(work.map((r) => r.name));
  for (let i = 0; i < after.length; i++) {
    const r = after[i]!;
    if (!workNames.has(r.name)) {
      ops.push({ op: 'add', path: at(i), value: r });
      work.splice(i, 0, r);
    }
  }
  if (work.map((r) => r.name).join('\u0000') !== after.map((r) => r.name).join('\u0000')) {
    // Not reachable by the actions above; if it were, the whole list is written, still only
    // onto the route as it was read (the resourceVersion precondition).
    return [resourceVersionPrecondition(rv), { op: 'replace', path: '/spec/rules', value: after }];
  }
  for (let i = 0; i < after.length; i++) {
    const now = after[i]!;
    const was = work[i]!;
    if (!owned(t, now) || was === now) continue;
    const changes: JsonPatchOp[] = [];
    for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
      const a = was[k];
      const b = now[k];
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      const path = `${at(i)}/${pointerKey(k)}`;
      changes.push(b === undefined ? { op: 'remove', path } : { op: 'add', path, value: b });
    }
    if (changes.length > 0) ops.push({ op: 'test', path: `${at(i)}/name`, value: now.name }, ...changes);
  }
  return ops;
}

/**
 * The spec of an HTTPRoute or GRPCRoute the release owns (pure): the template's, with the
 * release's own state carried over from the `live` route ({@link ownedRoutes}, shared with the
 * VirtualService): of the managed rule, the weights of the stable and canary backendRefs (a
 * backendRef the template lacks is added, as {@link gatewayRoutePatch} adds it) and the
 * RequestMirror filter to the canary; and the release's header rules, just before the managed
 * rule. Every other rule, filter and field is the template's.
 */
export function ownedGatewayRouteSpec(
  t: GatewayRouteTarget,
  template: GatewayRouteSpec,
  live: GatewayRouteLike | undefined,
): GatewayRouteSpec {
  const kind: OwnedRouteKind<GatewayRule> = {
    managed: t.rule,
    isReleaseRoute: (r) => isHeaderRuleOf(t, r),
    carryOver: (managed, was) => carryOverRule(t, managed, was),
  };
  return { ...template, rules: ownedRoutes(kind, template.rules ?? [], live?.spec?.rules) };
}

/** The backendRef weights and canary mirror of the live managed rule `was`, carried into the template's `managed`. */
function carryOverRule(t: GatewayRouteTarget, managed: GatewayRule, was: GatewayRule): void {
  const liveRefs = was.backendRefs ?? [];
  const refs = (managed.backendRefs ??= []);
  for (const service of [t.stableBackend, t.canaryBackend]) {
    const live = liveRefs.find((b) => refersTo(t, b, service));
    if (!live) continue;
    const ref = refs.find((b) => refersTo(t, b, service));
    if (ref) {
      if (live.weight === undefined) delete ref.weight;
      else ref.weight = live.weight;
    } else {
      const like = refs.find((b) => refersTo(t, b, t.stableBackend) || refersTo(t, b, t.canaryBackend));
      refs.push(backendRefTo(service, like ?? live, live.weight));
    }
  }
  const templateMirror = canaryMirror(t, managed);
  const liveMirror = canaryMirror(t, was);
  if (!templateMirror && !liveMirror) return;
  const others = (managed.filters ?? []).filter((f) => f !== templateMirror);
  const filters = liveMirror ? [...others, structuredClone(liveMirror)] : others;
  if (filters.length > 0) managed.filters = filters;
  else delete managed.filters;
}
