/**
 * explain through the Gateway API: the HTTPRoutes and GRPCRoutes attached to the Service called
 * (a Service parent: the mesh, GAMMA, applied by the caller's sidecar or the Service's waypoint)
 * or to the ingress's Gateway (a Gateway parent of class `istio`), the rule that serves the
 * request ({@link chooseGatewayApiRule}), its weighted `backendRefs` (weight 1 when unset), its
 * filters (header modifiers, `RequestRedirect`, `URLRewrite`, `RequestMirror`) and its request
 * timeout.
 */
import {
  GATEWAY_API_GROUP,
  namespacesWithObjects,
  referenceGrantFor,
  refNotPermitted,
  routeBackendRefs,
} from '../model/gateway-api.js';
import { hostMatches, lookupHost, principalOf, resolveHost } from '../model/query.js';
import type {
  GatewayApiRoute,
  GrpcRouteRule,
  HttpRoute,
  HttpRouteRule,
  K8sGateway,
  MeshModel,
  Service,
} from '../model/types.js';
import { waypointOnPath } from './ambient.js';
import type { ChosenGatewayApiRule } from './gateway-api-route.js';
import type { Caller, Explanation, HeaderChanges } from './types.js';

/** The Gateway API class of Istio's ingress (and egress) gateways. */
export const ISTIO_GATEWAY_CLASS = 'istio';

/** The routes attached to `service` (a Service parentRef, on `port` when the parentRef names one). */
export function serviceRoutes(
  model: MeshModel,
  service: Service,
  port: number | undefined,
): GatewayApiRoute[] {
  return model.gatewayApiRoutes.filter((r) =>
    r.parentRefs.some(
      (p) =>
        p.group === '' &&
        p.kind === 'Service' &&
        p.name === service.name &&
        p.namespace === service.namespace &&
        (p.port === undefined || port === undefined || p.port === port),
    ),
  );
}

/** Whether a route or listener hostname (`*.example.com` allowed) admits `host`. */
const hostnameAdmits = (hostname: string | undefined, host: string) =>
  hostname === undefined || hostMatches(hostname, host.split(':')[0]!);

/** The ingress Gateway (class `istio`) with a listener for `host` and `port`, and its routes for `host`. */
export function ingressRoutes(
  model: MeshModel,
  host: string,
  port: number | undefined,
): { readonly gateway: K8sGateway; readonly routes: GatewayApiRoute[] } | undefined {
  for (const g of model.k8sGateways) {
    if (g.gatewayClassName !== ISTIO_GATEWAY_CLASS) continue;
    const listeners = g.listeners.filter(
      (l) =>
        (port === undefined || l.port === port) &&
        ['HTTP', 'HTTPS'].includes(l.protocol) &&
        hostnameAdmits(l.hostname, host),
    );
    if (!listeners.length) continue;
    const names = new Set(listeners.map((l) => l.name));
    const routes = model.gatewayApiRoutes.filter(
      (r) =>
        r.parentRefs.some(
          (p) =>
            p.group === GATEWAY_API_GROUP &&
            p.kind === 'Gateway' &&
            p.name === g.name &&
            p.namespace === g.namespace &&
            (p.port === undefined || listeners.some((l) => l.port === p.port)) &&
            ((p as { sectionName?: string }).sectionName === undefined ||
              names.has((p as { sectionName?: string }).sectionName!)),
        ) &&
        (!r.hostnames.length || r.hostnames.some((h) => hostnameAdmits(h, host))),
    );
    return { gateway: g, routes };
  }
  return undefined;
}

/** The ingress caller when it is a Gateway API Gateway: Istio runs it as `<name>-istio`. */
export function ingressCaller(
  model: MeshModel,
  caller: Caller,
  gateway: K8sGateway,
  saOverride: boolean,
): Caller {
  return {
    ...caller,
    description: `the ingress gateway (Gateway ${gateway.namespace}/${gateway.name})`,
    namespace: gateway.namespace,
    labels: { 'gateway.networking.k8s.io/gateway-name': gateway.name },
    principal: saOverride ? caller.principal : principalOf(model, gateway.namespace, `${gateway.name}-istio`),
  };
}

/** Who applies Service-parent routes for `caller`: the Service's waypoint, else the caller's sidecar. */
export function meshRouteApplier(model: MeshModel, caller: Caller, service: Service): string | undefined {
  const wp = waypointOnPath(model, caller, service);
  if (wp) return `waypoint ${wp.gateway.namespace}/${wp.gateway.name}`;
  if (caller.sidecar && !caller.ingress) return `the sidecar of ${caller.description}`;
  return undefined;
}

/** What a chosen rule does, in the terms explain reports and its destinations read. */
export interface GatewayApiEffects {
  /** The rule's backends as a VirtualService-shaped route (weights made explicit). */
  readonly route: HttpRoute;
  readonly upstreamPath?: string;
  readonly partial: Pick<Explanation, 'timeout' | 'mirror' | 'redirect' | 'directResponse' | 'rewrites'>;
  /** The backends of `route` (by index) whose reference is not permitted, and why: their share answers 500. */
  readonly unresolved: ReadonlyMap<number, string>;
}

type Filter = NonNullable<HttpRouteRule['filters']>[number] | NonNullable<GrpcRouteRule['filters']>[number];

function headerChanges(m: {
  readonly set?: readonly { readonly name: string; readonly value: string }[];
  readonly add?: readonly { readonly name: string; readonly value: string }[];
  readonly remove?: readonly string[];
}): HeaderChanges {
  const kv = (l: readonly { readonly name: string; readonly value: string }[] | undefined) =>
    l?.length ? Object.fromEntries(l.map((h) => [h.name.toLowerCase(), h.value])) : undefined;
  const set = kv(m.set);
  const add = kv(m.add);
  return {
    ...(set ? { set } : {}),
    ...(add ? { add } : {}),
    ...(m.remove?.length ? { remove: m.remove.map((h) => h.toLowerCase()) } : {}),
  };
}

/** The path after a `URLRewrite` or `RequestRedirect` path modifier. */
function modifiedPath(
  mod: { readonly type: string; readonly replaceFullPath?: string; readonly replacePrefixMatch?: string },
  path: string,
  matchedPrefix: string | undefined,
): string {
  if (mod.type === 'ReplaceFullPath') return mod.replaceFullPath ?? path;
  const prefix = (matchedPrefix ?? '/').replace(/\/+$/, '');
  const rest = path.slice(prefix.length);
  const replacement = (mod.replacePrefixMatch ?? '/').replace(/\/+$/, '');
  const out = `${replacement}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
  return out === '' ? '/' : out;
}

/** What the chosen rule does: its backends, filters and timeout. */
export function gatewayApiEffects(
  model: MeshModel,
  chosen: ChosenGatewayApiRule,
  path: string,
  notes: string[],
): GatewayApiEffects {
  const { route, rule } = chosen;
  const ns = route.namespace;
  const fqdn = (name: string, namespace?: string) => resolveHost(name, namespace ?? ns, model.clusterDomain);
  const refs = (rule.backendRefs ?? []) as readonly {
    readonly group?: string;
    readonly kind?: string;
    readonly name: string;
    readonly namespace?: string;
    readonly port?: number;
    readonly weight?: number;
  }[];
  // A cross-namespace backendRef no ReferenceGrant allows is unresolved: Istio sends its share to a
  // cluster that does not exist, answered 500 on Gateway API routes.
  const unresolved = new Map<number, string>();
  const loaded = namespacesWithObjects(model);
  const from = { group: GATEWAY_API_GROUP, kind: route.kind, namespace: ns, name: route.name };
  routeBackendRefs(route)
    .filter((b) => b.field.startsWith(`rules[${chosen.ruleIndex}].`) && b.namespace !== ns)
    .forEach((b) => {
      const j = Number(/backendRefs\[(\d+)\]$/.exec(b.field)![1]);
      if (!loaded.has(b.namespace))
        notes.push(
          `backendRef ${b.namespace}/${b.name} is in another namespace, whose ReferenceGrants are not in the input: not checked`,
        );
      else if (!referenceGrantFor(model, from, b)) unresolved.set(j, refNotPermitted(from, b));
    });
  for (const b of refs.filter((b) => (b.group ?? '') !== '' || (b.kind ?? 'Service') !== 'Service'))
    notes.push(`backendRef ${b.kind ?? 'Service'} ${b.name} is not a Service: explain cannot follow it`);
  const vsRoute: HttpRoute = {
    route: refs.map((b) => ({
      destination: {
        host:
          (b.group ?? '') === '' && (b.kind ?? 'Service') === 'Service'
            ? fqdn(b.name, b.namespace)
            : `${b.kind}/${b.name}`,
        ...(b.port !== undefined ? { port: { number: b.port } } : {}),
      },
      // A lone backend takes everything only with a weight above 0 (the Gateway API's rule).
      weight: refs.length === 1 && (b.weight ?? 1) > 0 ? 100 : (b.weight ?? 1),
    })),
  };
  const matched =
    chosen.matchIndex !== undefined
      ? (rule.matches?.[chosen.matchIndex] as { path?: { type?: string; value?: string } } | undefined)
      : undefined;
  const matchedPrefix = matched?.path?.type === 'PathPrefix' ? matched.path.value : undefined;
  let requestHeaders: HeaderChanges | undefined;
  let responseHeaders: HeaderChanges | undefined;
  let hostname: string | undefined;
  let upstreamPath: string | undefined;
  let redirect: Record<string, unknown> | undefined;
  let mirror: Explanation['mirror'];
  for (const f of (rule.filters ?? []) as readonly Filter[]) {
    const any = f as Record<string, unknown> & { type: string };
    switch (any.type) {
      case 'RequestHeaderModifier':
        requestHeaders = headerChanges(any.requestHeaderModifier as Parameters<typeof headerChanges>[0]);
        break;
      case 'ResponseHeaderModifier':
        responseHeaders = headerChanges(any.responseHeaderModifier as Parameters<typeof headerChanges>[0]);
        break;
      case 'URLRewrite': {
        const u = any.urlRewrite as { hostname?: string; path?: Parameters<typeof modifiedPath>[0] };
        if (u.hostname) hostname = u.hostname;
        if (u.path) upstreamPath = modifiedPath(u.path, path, matchedPrefix);
        break;
      }
      case 'RequestRedirect': {
        const r = any.requestRedirect as {
          scheme?: string;
          hostname?: string;
          port?: number;
          statusCode?: number;
          path?: Parameters<typeof modifiedPath>[0];
        };
        redirect = {
          redirectCode: r.statusCode ?? 302,
          ...(r.scheme ? { scheme: r.scheme } : {}),
          ...(r.hostname ? { hostname: r.hostname } : {}),
          ...(r.port !== undefined ? { port: r.port } : {}),
          ...(r.path ? { path: modifiedPath(r.path, path, matchedPrefix) } : {}),
        };
        break;
      }
      case 'RequestMirror': {
        const m = any.requestMirror as {
          backendRef: { name: string; namespace?: string };
          percent?: number;
          fraction?: { numerator: number; denominator?: number };
        };
        mirror = {
          host: fqdn(m.backendRef.name, m.backendRef.namespace),
          percentage:
            m.percent ?? (m.fraction ? (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100) : 100),
        };
        break;
      }
      default:
        notes.push(`filter ${any.type} of ${route.kind} ${ns}/${route.name} is not simulated`);
    }
  }
  const timeout = (rule as HttpRouteRule).timeouts?.request;
  const rewrites = {
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
    ...(hostname ? { hostname } : {}),
    ...(upstreamPath !== undefined ? { path: upstreamPath } : {}),
  };
  const noBackend = (!refs.length || unresolved.size === refs.length) && !redirect;
  if (noBackend)
    notes.push(
      refs.length
        ? `rule ${chosen.ruleIndex} of ${route.kind} ${ns}/${route.name} has no backendRef it may refer to: the Gateway API answers 500 (${[...unresolved.values()].join('; ')})`
        : `rule ${chosen.ruleIndex} of ${route.kind} ${ns}/${route.name} has no backendRefs: the Gateway API answers 500`,
    );
  return {
    route: redirect || noBackend ? { route: [] } : vsRoute,
    unresolved: redirect || noBackend ? new Map() : unresolved,
    ...(upstreamPath !== undefined ? { upstreamPath } : {}),
    partial: {
      ...(timeout ? { timeout } : {}),
      ...(mirror ? { mirror } : {}),
      ...(redirect ? { redirect } : {}),
      ...(noBackend ? { directResponse: 500 } : {}),
      ...(Object.keys(rewrites).length ? { rewrites } : {}),
    },
  };
}

/** The Service a host names, when it is one of the model's. */
export function serviceOf(model: MeshModel, fqdn: string): Service | undefined {
  const reg = lookupHost(model, fqdn);
  return reg?.type === 'service' ? reg.service : undefined;
}
