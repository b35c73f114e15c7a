/**
 * The routing rules of the traffic simulator, a test stand-in for Envoy: given the live
 * VirtualServices, DestinationRules, HTTPRoutes and GRPCRoutes and one request, which route
 * applies and what it says (destination and subset by weight, fault, timeout, retries, mirrors).
 * Pure: random choices come from the `Random` passed in.
 *
 * Gateway API (GAMMA): the HTTPRoutes and GRPCRoutes whose parentRef is the called Service (on
 * its port, when the parentRef names one) take the place of a VirtualService for that host. The
 * rule is chosen, and its backendRefs, weights, `RequestMirror`, `RequestRedirect` and
 * `timeouts.request` read, by the mesh model's own reading (`mesh/explain`'s
 * `chooseGatewayApiRule` and `gatewayApiEffects`), so the simulator and `explain` cannot disagree.
 * A backendRef is a Service (one per version, `reviews-v2`); a rule whose backends all weigh 0,
 * or that has none, answers 500, as the Gateway API says. Istio's default retry policy applies.
 *
 * Istio semantics followed (istio.io VirtualService reference):
 * - the VirtualService for a host is the oldest one whose `hosts` match and whose `gateways` are
 *   empty or name `mesh`; short hosts are qualified with the VirtualService's namespace;
 * - `http` routes are tried in order; a route without `match` matches everything; the entries of
 *   `match` are ORed, the conditions inside one entry ANDed; `regex` must match the whole value;
 * - `weight` picks among `route` destinations at random; one destination without weight gets all;
 * - `fault.delay` and `fault.abort` apply each with their own percentage (none when unset, as
 *   Istio programs an unset percentage as 0%);
 *   "timeouts or retries will not be enabled when faults are enabled on the client side";
 * - without `retries`, Istio's default policy applies (2 retries on connect-failure,
 *   refused-stream and 503); `retries.attempts: 0` disables retries; `attempts` counts retries;
 * - `mirror` with `mirrorPercentage` (100 when unset), and `mirrors` each with its `percentage`.
 * - gRPC `retryOn` conditions (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`,
 *   `unavailable`) retry an answer with that `grpc-status`; Istio's default policy has two of them.
 * Not modelled (ignored): `rewrite`, `headers` manipulation, `corsPolicy`, `delegate`, `port`,
 * `exponentialDelay`, `fault.abort.grpcStatus`, and DestinationRule traffic policies.
 */
import { durationMs } from '../../../api/duration.js';
import { destinationWeights } from '../../../api/route-weights.js';
import { regexMatches } from '../../../mesh/model/regex.js';
import type { DestinationRuleSpec } from '../../../imports/networking.istio.io.js';
import type {
  HttpMatchRequest,
  HttpRoute,
  RouteDestination,
  StringMatch,
  VirtualServiceSpec,
} from '../../../mesh/model/types.js';
import { GRPC_RETRY_ON } from './grpc.js';
import { chooseGatewayApiRule } from '../../../mesh/explain/gateway-api-route.js';
import { gatewayApiEffects } from '../../../mesh/explain/gateway-api.js';
import type { GatewayApiRoute, MeshModel } from '../../../mesh/model/types.js';
import type { Random } from './rng.js';

export interface IstioObject<S> {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
  };
  readonly spec: S;
}
export type VirtualService = IstioObject<VirtualServiceSpec>;
export type DestinationRule = IstioObject<DestinationRuleSpec>;

/** The Istio configuration the simulator routes by. */
export interface MeshConfig {
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  /** The HTTPRoutes and GRPCRoutes, as the mesh model reads them (`buildModel`). @default - none */
  readonly gatewayApi?: MeshModel;
}

/** Who sends a request: the load generator, or a backend calling another service. */
export interface SourceIdentity {
  readonly workload: string;
  readonly namespace: string;
  /** Pod labels, for `match.sourceLabels`. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface RouteRequest {
  /** Fully qualified service host, e.g. `reviews.shop.svc.cluster.local`. */
  readonly host: string;
  /** The authority as the caller wrote it (`reviews`, `reviews:9080`). */
  readonly authority: string;
  readonly method: string;
  /** Path with query string. */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly source: SourceIdentity;
}

export interface Destination {
  /** Fully qualified host. */
  readonly host: string;
  readonly subset?: string;
}

export interface RetryPolicy {
  /** Retries after the first try (Istio's `attempts`); 0 disables retries. */
  readonly retries: number;
  readonly perTryTimeoutMs?: number;
  readonly retryOn: ReadonlySet<string>;
  readonly retriableStatusCodes: ReadonlySet<number>;
}

export interface RouteRef {
  /** `namespace/name` of the VirtualService, absent when none applies (default routing). */
  readonly virtualService?: string;
  /** `Kind namespace/name` of the HTTPRoute or GRPCRoute whose rule applies. */
  readonly gatewayApiRoute?: string;
  /** Index of the `http` route, or of the Gateway API rule. */
  readonly index: number;
  readonly name?: string;
}

export type RouteDecision =
  | { readonly kind: 'no-route'; readonly reason: string }
  | {
      readonly kind: 'direct-response';
      readonly route: RouteRef;
      readonly status: number;
      readonly body: string;
    }
  | {
      readonly kind: 'redirect';
      readonly route: RouteRef;
      readonly status: number;
      readonly location: string;
    }
  | {
      readonly kind: 'forward';
      readonly route: RouteRef;
      readonly destination: Destination;
      /** Injected delay for this request (the roll of `fault.delay.percentage` said yes). */
      readonly delayMs?: number;
      /** Injected abort status for this request. */
      readonly abortStatus?: number;
      /** Route timeout, all tries included; absent = none (Istio's default). */
      readonly timeoutMs?: number;
      readonly retryPolicy: RetryPolicy;
      /** Mirrors chosen for this request (their percentage rolls said yes). */
      readonly mirrors: readonly Destination[];
    };

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 2,
  retryOn: new Set([
    'connect-failure',
    'refused-stream',
    'unavailable',
    'cancelled',
    'retriable-status-codes',
  ]),
  retriableStatusCodes: new Set([503]),
};
const NO_RETRIES: RetryPolicy = { retries: 0, retryOn: new Set(), retriableStatusCodes: new Set() };

/** `reviews` in namespace `shop` → `reviews.shop.svc.cluster.local`. */
export function qualifyHost(host: string, namespace: string): string {
  const h = host.toLowerCase();
  if (h === '*' || h.startsWith('*.')) return h;
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${h}.svc.cluster.local`;
  if (h.endsWith('.svc')) return `${h}.cluster.local`;
  return h;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

function appliesToMesh(gateways: readonly string[] | undefined): boolean {
  return gateways === undefined || gateways.length === 0 || gateways.includes('mesh');
}

/** The VirtualService that governs `host` for sidecars: the oldest matching one. */
export function virtualServiceFor(config: MeshConfig, host: string): VirtualService | undefined {
  const candidates = config.virtualServices.filter(
    (vs) =>
      appliesToMesh(vs.spec.gateways) &&
      (vs.spec.hosts ?? []).some((h) => hostMatches(qualifyHost(h, vs.metadata.namespace), host)),
  );
  candidates.sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
  );
  return candidates[0];
}

/** The labels of `subset` of `host` from the DestinationRules, or undefined if no rule defines it. */
export function subsetLabels(
  config: MeshConfig,
  host: string,
  subset: string,
): Readonly<Record<string, string>> | undefined {
  for (const dr of config.destinationRules) {
    if (qualifyHost(dr.spec.host, dr.metadata.namespace) !== host) continue;
    const s = (dr.spec.subsets ?? []).find((x) => x.name === subset);
    if (s) return s.labels ?? {};
  }
  return undefined;
}

function stringMatches(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  if (m.exact !== undefined) return v === (ignoreCase ? m.exact.toLowerCase() : m.exact);
  if (m.prefix !== undefined) return v.startsWith(ignoreCase ? m.prefix.toLowerCase() : m.prefix);
  if (m.regex !== undefined) return regexMatches(m.regex, value); // RE2, as Envoy; what RE2 refuses matches nothing
  return true; // an empty match means "present"
}

function matchEntry(m: HttpMatchRequest, req: RouteRequest): boolean {
  const [pathOnly, query = ''] = req.path.split('?', 2) as [string, string?];
  if (m.gateways && m.gateways.length > 0 && !m.gateways.includes('mesh')) return false;
  if (m.uri && !stringMatches(m.uri, pathOnly, m.ignoreUriCase === true)) return false;
  if (m.method && !stringMatches(m.method, req.method)) return false;
  if (m.authority && !stringMatches(m.authority, req.authority)) return false;
  if (m.scheme && !stringMatches(m.scheme, 'http')) return false;
  for (const [name, hm] of Object.entries(m.headers ?? {})) {
    if (
      !stringMatches(
        hm,
        Object.hasOwn(req.headers, name.toLowerCase()) ? req.headers[name.toLowerCase()] : undefined,
      )
    )
      return false;
  }
  for (const [name, hm] of Object.entries(m.withoutHeaders ?? {})) {
    if (
      stringMatches(
        hm,
        Object.hasOwn(req.headers, name.toLowerCase()) ? req.headers[name.toLowerCase()] : undefined,
      )
    )
      return false;
  }
  if (m.queryParams) {
    const params = new URLSearchParams(query);
    for (const [name, qm] of Object.entries(m.queryParams)) {
      const v = params.get(name);
      if (!stringMatches(qm, v === null ? undefined : v)) return false;
    }
  }
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) {
    if (req.source.labels[k] !== v) return false;
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== req.source.namespace) return false;
  return true;
}

/** Whether an `http` route's `match` list selects the request. */
export function routeMatches(route: HttpRoute, req: RouteRequest): boolean {
  if (!route.match || route.match.length === 0) return true;
  return route.match.some((m) => matchEntry(m, req));
}

function percentage(p: { value?: number } | undefined, legacy: number | undefined, unset = 100): number {
  return p?.value ?? legacy ?? unset;
}

function roll(random: Random, percent: number): boolean {
  return percent >= 100 || random() * 100 < percent;
}

export function retryPolicyOf(r: HttpRoute['retries']): RetryPolicy {
  if (r === undefined) return DEFAULT_RETRY_POLICY;
  if ((r.attempts ?? 0) <= 0) return NO_RETRIES;
  let retryOn = DEFAULT_RETRY_POLICY.retryOn;
  let codes = DEFAULT_RETRY_POLICY.retriableStatusCodes;
  if (r.retryOn !== undefined && r.retryOn.trim() !== '') {
    const items = r.retryOn.split(',').map((s) => s.trim());
    const numeric = items.filter((s) => /^\d+$/.test(s)).map(Number);
    retryOn = new Set(items.filter((s) => !/^\d+$/.test(s)));
    codes = new Set(numeric);
    if (numeric.length > 0) (retryOn as Set<string>).add('retriable-status-codes');
  }
  return {
    retries: r.attempts ?? 0,
    perTryTimeoutMs: durationMs(r.perTryTimeout),
    retryOn,
    retriableStatusCodes: codes,
  };
}

/** What one try of a request ended with. */
export type TryOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly grpcStatus?: number }
  | { readonly kind: 'connect-failure' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'per-try-timeout' };

/** Whether Envoy's retry policy retries a try that ended like this. */
export function isRetriable(p: RetryPolicy, outcome: TryOutcome): boolean {
  const on = (c: string) => p.retryOn.has(c);
  switch (outcome.kind) {
    case 'response': {
      const s = outcome.status;
      const g = outcome.grpcStatus;
      if (
        g !== undefined &&
        g !== 0 &&
        Object.entries(GRPC_RETRY_ON).some(([c, code]) => code === g && on(c))
      )
        return true;
      return (
        (on('5xx') && s >= 500) ||
        (on('gateway-error') && (s === 502 || s === 503 || s === 504)) ||
        (on('retriable-4xx') && s === 409) ||
        (on('retriable-status-codes') && p.retriableStatusCodes.has(s))
      );
    }
    case 'connect-failure':
      return on('5xx') || on('gateway-error') || on('connect-failure') || on('reset');
    case 'reset':
    case 'per-try-timeout':
      return on('5xx') || on('gateway-error') || on('reset');
  }
}

function pickWeighted(routes: readonly RouteDestination[], random: Random): RouteDestination | undefined {
  const weights = destinationWeights(routes).map((w) => Math.max(0, w));
  const total = weights.reduce((s, w) => s + w, 0);
  if (total <= 0) return routes[0];
  let x = random() * total;
  for (const [i, r] of routes.entries()) {
    x -= weights[i]!;
    if (x < 0) return r;
  }
  return routes[routes.length - 1];
}

/** The HTTPRoutes and GRPCRoutes attached to the Service `host` names (on the authority's port, if any). */
export function serviceParentRoutes(model: MeshModel, req: Pick<RouteRequest, 'host' | 'authority'>) {
  const [name, namespace] = req.host.split('.');
  const port = Number(req.authority.split(':')[1]) || undefined;
  return model.gatewayApiRoutes.filter((r: GatewayApiRoute) =>
    r.parentRefs.some(
      (p) =>
        p.group === '' &&
        p.kind === 'Service' &&
        p.name === name &&
        p.namespace === namespace &&
        (p.port === undefined || port === undefined || p.port === port),
    ),
  );
}

/** How the Gateway API routes a request, or undefined when no route has the host's Service as parent. */
export function decideGatewayApiRoute(
  model: MeshModel,
  req: RouteRequest,
  random: Random,
): RouteDecision | undefined {
  const routes = serviceParentRoutes(model, req);
  if (routes.length === 0) return undefined;
  const [path = '/', query = ''] = req.path.split('?', 2) as [string, string?];
  const chosen = chooseGatewayApiRule(routes, {
    method: req.method,
    path,
    query: Object.fromEntries(new URLSearchParams(query)),
    headers: req.headers,
  });
  if (!chosen)
    return {
      kind: 'no-route',
      reason: `no rule of the HTTPRoutes and GRPCRoutes of ${req.host} matches`,
    };
  const name = `${chosen.route.kind} ${chosen.route.namespace}/${chosen.route.name}`;
  const ref: RouteRef = {
    gatewayApiRoute: name,
    index: chosen.ruleIndex,
    ...(chosen.rule.name !== undefined ? { name: chosen.rule.name } : {}),
  };
  const effects = gatewayApiEffects(model, chosen, path, []);
  const redirect = effects.partial.redirect as
    { redirectCode: number; scheme?: string; hostname?: string; port?: number; path?: string } | undefined;
  if (redirect) {
    const host = `${redirect.hostname ?? req.authority.split(':')[0]}${redirect.port ? `:${redirect.port}` : ''}`;
    return {
      kind: 'redirect',
      route: ref,
      status: redirect.redirectCode,
      location: `${redirect.scheme ?? 'http'}://${host}${redirect.path ?? path}`,
    };
  }
  const backends = effects.route.route ?? [];
  if (effects.partial.directResponse !== undefined || !backends.some((b) => (b.weight ?? 0) > 0)) {
    return {
      kind: 'direct-response',
      route: ref,
      status: 500,
      body: `${name} rule ${chosen.ruleIndex} has no backend`,
    };
  }
  const chosenBackend = pickWeighted(backends, random)!;
  const mirror = effects.partial.mirror;
  const timeoutMs = durationMs(effects.partial.timeout);
  return {
    kind: 'forward',
    route: ref,
    destination: { host: qualifyHost(chosenBackend.destination.host, chosen.route.namespace) },
    ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
    retryPolicy: DEFAULT_RETRY_POLICY,
    mirrors:
      mirror && roll(random, mirror.percentage ?? 100)
        ? [{ host: qualifyHost(mirror.host, chosen.route.namespace) }]
        : [],
  };
}

/** Decides how one request is routed. */
export function decideRoute(config: MeshConfig, req: RouteRequest, random: Random): RouteDecision {
  const gatewayApi = config.gatewayApi && decideGatewayApiRoute(config.gatewayApi, req, random);
  if (gatewayApi) return gatewayApi;
  const vs = virtualServiceFor(config, req.host);
  if (vs === undefined) {
    return {
      kind: 'forward',
      route: { index: 0 },
      destination: { host: req.host },
      retryPolicy: DEFAULT_RETRY_POLICY,
      mirrors: [],
    };
  }
  const vsName = `${vs.metadata.namespace}/${vs.metadata.name}`;
  const ns = vs.metadata.namespace;
  const routes = vs.spec.http ?? [];
  const index = routes.findIndex((r) => routeMatches(r, req));
  if (index < 0) return { kind: 'no-route', reason: `no http route of VirtualService ${vsName} matches` };
  const r = routes[index]!;
  const ref: RouteRef = { virtualService: vsName, index, ...(r.name !== undefined ? { name: r.name } : {}) };
  if (r.directResponse) {
    return {
      kind: 'direct-response',
      route: ref,
      status: r.directResponse.status,
      body: r.directResponse.body?.string ?? '',
    };
  }
  if (r.redirect) {
    const [path] = req.path.split('?', 1);
    const location = `http://${r.redirect.authority ?? req.authority}${r.redirect.uri ?? path}`;
    return { kind: 'redirect', route: ref, status: r.redirect.redirectCode ?? 301, location };
  }
  const chosen = pickWeighted(r.route ?? [], random);
  if (chosen === undefined) return { kind: 'no-route', reason: `http[${index}] of ${vsName} has no route` };
  const destination: Destination = {
    host: qualifyHost(chosen.destination.host, ns),
    ...(chosen.destination.subset !== undefined ? { subset: chosen.destination.subset } : {}),
  };

  let delayMs: number | undefined;
  let abortStatus: number | undefined;
  const delay = r.fault?.delay;
  if (delay?.fixedDelay !== undefined && roll(random, percentage(delay.percentage, delay.percent, 0))) {
    delayMs = durationMs(delay.fixedDelay);
  }
  const abort = r.fault?.abort;
  if (abort?.httpStatus !== undefined && roll(random, percentage(abort.percentage, undefined, 0))) {
    abortStatus = abort.httpStatus;
  }

  const mirrors: Destination[] = [];
  const toDest = (d: { host: string; subset?: string }): Destination => ({
    host: qualifyHost(d.host, ns),
    ...(d.subset !== undefined ? { subset: d.subset } : {}),
  });
  if (r.mirror && roll(random, percentage(r.mirrorPercentage, r.mirror_percent)))
    mirrors.push(toDest(r.mirror));
  for (const m of r.mirrors ?? []) {
    if (roll(random, percentage(m.percentage, undefined))) mirrors.push(toDest(m.destination));
  }

  const faulted = r.fault !== undefined;
  const timeoutMs = faulted ? undefined : durationMs(r.timeout);
  return {
    kind: 'forward',
    route: ref,
    destination,
    ...(delayMs !== undefined ? { delayMs } : {}),
    ...(abortStatus !== undefined ? { abortStatus } : {}),
    ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
    retryPolicy: faulted ? NO_RETRIES : retryPolicyOf(r.retries),
    mirrors,
  };
}
