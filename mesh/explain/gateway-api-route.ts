/**
 * Which Gateway API rule serves a request, as Istio turns HTTPRoutes and GRPCRoutes into Envoy
 * routes (pilot/pkg/config/kube/gateway): every match of every rule of every route attached to
 * the parent is one route; they are ordered by the Gateway API's precedence (an Exact path before
 * a PathPrefix before a RegularExpression, then the longer path, a method match, more header
 * matches, more query matches), ties kept in route order (the older route, then `namespace/name`)
 * and rule and match order; the first that holds wins. A rule without `matches`, and a match
 * without `path`, match the PathPrefix `/` (the CRD's default). A GRPCRoute method match is a path
 * match: service and method `Exact` is the exact path `/service/method`, a service alone the prefix
 * `/service/`, anything else a regex.
 * @see https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule
 */
import { regexMatches } from '../model/regex.js';
import type { GatewayApiRoute, GrpcRouteRule, HttpRouteRule } from '../model/types.js';

/** A path match in Istio's terms, with the rank its type gives it. */
interface PathMatch {
  readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value: string;
}

/** One Gateway API match as Istio orders and evaluates it. */
interface FlatMatch {
  readonly route: GatewayApiRoute;
  readonly ruleIndex: number;
  /** Undefined for a rule without `matches`. */
  readonly matchIndex: number | undefined;
  readonly path: PathMatch;
  readonly method?: string;
  readonly headers: readonly { readonly name: string; readonly type: string; readonly value: string }[];
  readonly query: readonly { readonly name: string; readonly type: string; readonly value: string }[];
}

/** The request as a route match reads it. */
export interface RouteMatchRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The rule that serves a request. */
export interface ChosenGatewayApiRule {
  readonly route: GatewayApiRoute;
  readonly ruleIndex: number;
  readonly matchIndex: number | undefined;
  readonly rule: HttpRouteRule | GrpcRouteRule;
}

const rank = (t: PathMatch['type']) => (t === 'Exact' ? 3 : t === 'PathPrefix' ? 2 : 1);

/** The length Istio compares: of the prefix without its trailing `/`, else of the value. */
const pathLength = (p: PathMatch) =>
  p.type === 'PathPrefix' && p.value !== '/' ? p.value.replace(/\/+$/, '').length : p.value.length;

const ROOT: PathMatch = { type: 'PathPrefix', value: '/' };

function grpcPath(m: {
  readonly type?: string;
  readonly service?: string;
  readonly method?: string;
}): PathMatch {
  const exact = (m.type ?? 'Exact') === 'Exact';
  if (exact && m.service && m.method) return { type: 'Exact', value: `/${m.service}/${m.method}` };
  if (exact && m.service) return { type: 'PathPrefix', value: `/${m.service}/` };
  const esc = (s: string) => (exact ? s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : s);
  return {
    type: 'RegularExpression',
    value: `/${m.service ? esc(m.service) : '[^/]+'}/${m.method ? esc(m.method) : '[^/]+'}`,
  };
}

function flatten(route: GatewayApiRoute): FlatMatch[] {
  return route.rules.flatMap((rule, ruleIndex): FlatMatch[] => {
    const matches = (rule.matches ?? []) as readonly Record<string, unknown>[];
    if (!matches.length)
      return [{ route, ruleIndex, matchIndex: undefined, path: ROOT, headers: [], query: [] }];
    return matches.map((m, matchIndex): FlatMatch => {
      const headers = ((m.headers ?? []) as { name: string; type?: string; value: string }[]).map((h) => ({
        name: h.name.toLowerCase(),
        type: h.type ?? 'Exact',
        value: h.value,
      }));
      if (route.kind === 'GRPCRoute') {
        const method = m.method as { type?: string; service?: string; method?: string } | undefined;
        return {
          route,
          ruleIndex,
          matchIndex,
          path: method ? grpcPath(method) : ROOT,
          headers,
          query: [],
        };
      }
      const p = m.path as { type?: PathMatch['type']; value?: string } | undefined;
      const query = ((m.queryParams ?? []) as { name: string; type?: string; value: string }[]).map((q) => ({
        name: q.name,
        type: q.type ?? 'Exact',
        value: q.value,
      }));
      return {
        route,
        ruleIndex,
        matchIndex,
        path: p ? { type: p.type ?? 'PathPrefix', value: p.value ?? '/' } : ROOT,
        ...(typeof m.method === 'string' ? { method: m.method } : {}),
        headers,
        query,
      };
    });
  });
}

/** Istio's order of the Envoy routes made from the matches (a stable sort, as Istio's). */
function precedes(a: FlatMatch, b: FlatMatch): number {
  if (rank(a.path.type) !== rank(b.path.type)) return rank(b.path.type) - rank(a.path.type);
  if (pathLength(a.path) !== pathLength(b.path)) return pathLength(b.path) - pathLength(a.path);
  if ((a.method === undefined) !== (b.method === undefined)) return a.method === undefined ? 1 : -1;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  return b.query.length - a.query.length;
}

/** Whether a PathPrefix holds: whole path segments (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`). */
function prefixHolds(prefix: string, path: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') return true;
  return path === p || path.startsWith(`${p}/`);
}

function pathHolds(m: PathMatch, path: string): boolean {
  if (m.type === 'Exact') return path === m.value;
  if (m.type === 'PathPrefix') return prefixHolds(m.value, path);
  return regexMatches(m.value, path);
}

const valueHolds = (type: string, pattern: string, value: string | undefined) =>
  value !== undefined && (type === 'RegularExpression' ? regexMatches(pattern, value) : pattern === value);

function holds(m: FlatMatch, r: RouteMatchRequest): boolean {
  return (
    pathHolds(m.path, r.path) &&
    (m.method === undefined || m.method === r.method) &&
    m.headers.every((h) =>
      valueHolds(h.type, h.value, Object.hasOwn(r.headers, h.name) ? r.headers[h.name] : undefined),
    ) &&
    m.query.every((q) =>
      valueHolds(q.type, q.value, Object.hasOwn(r.query, q.name) ? r.query[q.name] : undefined),
    )
  );
}

/** The routes in the order Istio reads them: the older first, then by `namespace/name`. */
export function routeOrder(routes: readonly GatewayApiRoute[]): GatewayApiRoute[] {
  return [...routes].sort((a, b) => {
    const ta = a.creationTimestamp ?? '';
    const tb = b.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = `${a.namespace}/${a.name}`;
    const kb = `${b.namespace}/${b.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** The rule of `routes` (all attached to one parent) that serves `request`; undefined when none holds. */
export function chooseGatewayApiRule(
  routes: readonly GatewayApiRoute[],
  request: RouteMatchRequest,
): ChosenGatewayApiRule | undefined {
  const flat = routeOrder(routes).flatMap(flatten);
  const sorted = flat
    .map((m, i) => [m, i] as const)
    .sort(([a, i], [b, j]) => precedes(a, b) || i - j)
    .map(([m]) => m);
  const m = sorted.find((x) => holds(x, request));
  return m
    ? { route: m.route, ruleIndex: m.ruleIndex, matchIndex: m.matchIndex, rule: m.route.rules[m.ruleIndex]! }
    : undefined;
}
