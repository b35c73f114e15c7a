/**
 * An App's routes in the Kubernetes Gateway API: each route becomes a rule of the App's HTTPRoute
 * (GRPCRoute for gRPC Apps) whose parent is the App's Service, and each version a backend Service
 * of its own (`<app>-<version>`, selecting `version: <version>`), since a route cannot address
 * DestinationRule subsets. What the Gateway API cannot say is listed as refusals, with the reason.
 *
 * @see https://gateway-api.sigs.k8s.io/mesh/
 * @see https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/
 */
import type * as gatewayapi from '../imports/gateway.networking.k8s.io.js';
import { istioDuration, type HttpMatch, type HttpRouteOptions, type StringMatch } from './routing.js';
import type { PropIssue } from './validation.js';
import { HTTP_METHODS } from '../api/http.js';
import { gatewayValueMatch, re2Literal } from '../api/gateway-match.js';

/** The Service that is one version's backend: `<app>-<version>`. */
export function versionServiceName(app: string, version: string): string {
  return `${app}-${version}`;
}

/** HTTP methods an HTTPRoute match names (exactly). */

/** The App a route belongs to, as the renderer needs it. */
export interface RouteTarget {
  readonly name: string;
  readonly port: number;
  /** `grpc` Apps get a GRPCRoute. */
  readonly grpc: boolean;
}

/**
 * What the Gateway API cannot express of a route, each with the field (relative to the route)
 * and the reason. Empty when the route renders faithfully.
 */
export function gatewayApiRefusals(r: HttpRouteOptions, grpc: boolean): PropIssue[] {
  const out: PropIssue[] = [];
  const refuse = (field: string, message: string) => out.push({ field, message });
  if (
    r.name !== undefined &&
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(r.name)
  ) {
    refuse('name', 'an HTTPRoute rule name is a lower-case DNS name (letters, digits, "-" and ".")');
  }
  if (r.fault) {
    refuse(
      'fault',
      "the Gateway API has no fault injection (HTTPRoute filters are header modifiers, redirect, rewrite and mirror); use trafficApi: 'istio' for fault tests",
    );
  }
  if (r.retries) {
    refuse(
      'retries',
      "HTTPRoute retry is only in the Gateway API's experimental channel, not in the standard CRDs Istio 1.30 installs; drop retries or use trafficApi: 'istio'",
    );
  }
  if (grpc && r.timeout) {
    refuse('timeout', "a GRPCRoute rule has no timeouts; drop timeout or use trafficApi: 'istio'");
  }
  (r.match ?? []).forEach((m, i) => {
    const at = `match[${i}]`;
    if (m.port !== undefined) {
      refuse(
        `${at}.port`,
        "an HTTPRoute rule cannot match a port (its parentRef's port selects it); drop port",
      );
    }
    if (grpc) {
      for (const f of ['uri', 'method', 'queryParams'] as const) {
        if (m[f] !== undefined) {
          refuse(
            `${at}.${f}`,
            `a GRPCRoute matches gRPC service/method and headers, not ${f}; match on headers or use trafficApi: 'istio'`,
          );
        }
      }
    } else if (
      m.method &&
      !('exact' in m.method && (HTTP_METHODS as readonly string[]).includes(m.method.exact))
    ) {
      refuse(
        `${at}.method`,
        `an HTTPRoute matches a method exactly, one of ${HTTP_METHODS.join(', ')}; write { exact: 'GET' }`,
      );
    }
  });
  return out;
}

/** A header or query value match: Exact or RegularExpression (a prefix as `<literal>.*`). */
const valueMatch = (m: StringMatch) => gatewayValueMatch(m);

/**
 * A path match. Istio's `prefix` is a string prefix; the Gateway API's `PathPrefix` matches whole
 * path elements (`/api` matches `/api` and `/api/x`, not `/apix`). A prefix that ends at an element
 * boundary (ending in `/`, or the root) keeps its meaning as `PathPrefix`; any other is rendered as
 * the regex that is exactly the string prefix, so the route matches what the Istio form would.
 * @internal
 */
export function pathMatch(m: StringMatch): {
  type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value: string;
} {
  if ('exact' in m) return { type: 'Exact', value: m.exact };
  if ('regex' in m) return { type: 'RegularExpression', value: m.regex };
  return m.prefix.endsWith('/')
    ? { type: 'PathPrefix', value: m.prefix }
    : { type: 'RegularExpression', value: `${re2Literal(m.prefix)}.*` };
}

function renderHttpMatch(m: HttpMatch): gatewayapi.HttpRouteSpecRulesMatches {
  const out: Record<string, unknown> = {};
  if (m.uri) out.path = pathMatch(m.uri);
  if (m.method && 'exact' in m.method) out.method = m.method.exact;
  if (m.headers) out.headers = Object.entries(m.headers).map(([name, v]) => ({ name, ...valueMatch(v) }));
  if (m.queryParams) {
    out.queryParams = Object.entries(m.queryParams).map(([name, v]) => ({ name, ...valueMatch(v) }));
  }
  return out as gatewayapi.HttpRouteSpecRulesMatches;
}

function renderGrpcMatch(m: HttpMatch): gatewayapi.GrpcRouteSpecRulesMatches {
  return {
    ...(m.headers
      ? { headers: Object.entries(m.headers).map(([name, v]) => ({ name, ...valueMatch(v) })) }
      : {}),
  } as gatewayapi.GrpcRouteSpecRulesMatches;
}

/** The backend of a destination: its version's Service, or the App's own without a subset. */
function backend(t: RouteTarget, subset: string | undefined, port: number | undefined) {
  return {
    name: subset ? versionServiceName(t.name, subset) : t.name,
    port: port ?? t.port,
  };
}

/** A mirror share: `percent` when whole, otherwise the exact `fraction` (per million). */
function mirrorShare(percentage: number | undefined) {
  const p = percentage ?? 100;
  return Number.isInteger(p)
    ? { percent: p }
    : { fraction: { numerator: Math.round(p * 10_000), denominator: 1_000_000 } };
}

/** One route (already checked by {@link gatewayApiRefusals}) as an HTTPRoute or GRPCRoute rule. */
export function renderGatewayApiRule(
  t: RouteTarget,
  r: HttpRouteOptions,
): gatewayapi.HttpRouteSpecRules | gatewayapi.GrpcRouteSpecRules {
  const backendRefs = r.to.map((d) => ({
    ...backend(t, d.subset, d.port),
    ...(d.weight !== undefined ? { weight: d.weight } : {}),
  }));
  const filters = r.mirror
    ? [
        {
          type: 'RequestMirror',
          requestMirror: {
            backendRef: backend(t, r.mirror.subset, undefined),
            ...mirrorShare(r.mirror.percentage),
          },
        },
      ]
    : [];
  const matches = (r.match ?? []).map((m) => (t.grpc ? renderGrpcMatch(m) : renderHttpMatch(m)));
  return {
    ...(r.name ? { name: r.name } : {}),
    ...(matches.length ? { matches } : {}),
    ...(filters.length ? { filters } : {}),
    backendRefs,
    ...(r.timeout && !t.grpc ? { timeouts: { request: istioDuration(r.timeout) } } : {}),
  } as gatewayapi.HttpRouteSpecRules;
}
