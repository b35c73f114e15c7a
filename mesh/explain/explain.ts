/**
 * The request simulator: where one HTTP request goes in the mesh and what happens to it, from
 * the model alone. Which VirtualService and route match, the destinations with their
 * probabilities, the subset's labels and workloads, fault, timeout, retries, mirror, the mTLS
 * mode of the hop, and the authorization decision.
 */
import { protocolOfHost, resolveHost, selects } from '../model/query.js';
import type { GatewayApiRoute, HttpRoute, MeshModel, TcpRoute, VirtualService } from '../model/types.js';
import { resolveCaller } from './caller.js';
import { explainDestinations } from './destinations.js';
import {
  gatewayApiEffects,
  ingressCaller,
  ingressRoutes,
  meshRouteApplier,
  serviceOf,
  serviceRoutes,
} from './gateway-api.js';
import { chooseGatewayApiRule } from './gateway-api-route.js';
import { chooseRule, chooseVirtualService, hiddenBySidecar } from './route.js';
import type { Caller, ExplainedFault, ExplainOptions, ExplainRequest, Explanation } from './types.js';

export { resolveCaller } from './caller.js';
export { formatExplanation } from './format.js';
export { matchHolds, stringMatches } from './http-match.js';
export { hopTls } from './tls.js';
export * from './types.js';

/** A mirror's percentage as Istio reads it: unset means 100. */
const mirrorPct = (p: { value?: number } | undefined) => p?.value ?? 100;

/**
 * A fault's percentage as Istio programs it: unset means 0 ("if not specified, no request will be
 * delayed / aborted", Istio's HTTPFaultInjection reference); the deprecated integer `percent` of a
 * delay is read when `percentage` is absent.
 */
const faultPct = (p: { value?: number } | undefined, legacy?: number) => p?.value ?? legacy ?? 0;

/** What the route does besides choosing destinations: fault, timeout, retries, mirror, redirect. */
function routeEffects(
  model: MeshModel,
  route: HttpRoute | undefined,
  vsNs: string,
): Pick<Explanation, 'fault' | 'timeout' | 'retries' | 'mirror' | 'redirect' | 'directResponse'> {
  const f = route?.fault;
  const fault: ExplainedFault | undefined = f
    ? {
        ...(f.delay
          ? {
              delay: {
                fixedDelay: f.delay.fixedDelay ?? '?',
                percentage: faultPct(f.delay.percentage, f.delay.percent),
              },
            }
          : {}),
        ...(f.abort?.httpStatus !== undefined
          ? { abort: { httpStatus: f.abort.httpStatus, percentage: faultPct(f.abort.percentage) } }
          : {}),
      }
    : undefined;
  const rt = route?.retries;
  const mirror = route?.mirror;
  return {
    ...(fault ? { fault } : {}),
    ...(route?.timeout ? { timeout: route.timeout } : {}),
    ...(rt
      ? {
          retries: {
            attempts: rt.attempts ?? 0,
            ...(rt.perTryTimeout ? { perTryTimeout: rt.perTryTimeout } : {}),
            ...(rt.retryOn ? { retryOn: rt.retryOn } : {}),
          },
        }
      : {}),
    ...(mirror
      ? {
          mirror: {
            host: resolveHost(mirror.host, vsNs, model.clusterDomain),
            ...(mirror.subset ? { subset: mirror.subset } : {}),
            percentage: mirrorPct(route?.mirrorPercentage),
          },
        }
      : {}),
    ...(route?.redirect ? { redirect: route.redirect } : {}),
    ...(route?.directResponse ? { directResponse: route.directResponse.status } : {}),
  };
}

/** Explains one request. Throws {@link ExplainError} only for a caller the model does not have. */
export function explain(
  model: MeshModel,
  request: ExplainRequest,
  options: ExplainOptions = {},
): Explanation {
  // 1. The caller and the request as Envoy reads it (lower-case headers, path and query apart).
  const caller = resolveCaller(model, request.from, options);
  // Own keys only, so a header named `__proto__` or `constructor` is a header like any other.
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const rawPath = request.path ?? '/';
  const [path, qs = ''] = rawPath.split('?', 2) as [string, string?];
  const query = Object.fromEntries(new URLSearchParams(qs));
  const notes: string[] = [];
  const clientNs =
    caller.namespace ?? model.services.find((s) => s.name === request.host)?.namespace ?? 'default';

  // 2a. From the ingress: a Gateway API Gateway of class istio with a listener for the host routes
  //     the request by the HTTPRoutes attached to it.
  const k8sIngress = caller.ingress ? ingressRoutes(model, request.host, request.port) : undefined;
  if (k8sIngress) {
    const gw = `${k8sIngress.gateway.namespace}/${k8sIngress.gateway.name}`;
    const ingress = ingressCaller(
      model,
      caller,
      k8sIngress.gateway,
      options.ingressServiceAccount !== undefined,
    );
    const method = (request.method ?? 'GET').toUpperCase();
    return explainGatewayApi(model, ingress, k8sIngress.routes, {
      req: {
        from: request.from ?? 'outside',
        host: request.host,
        method,
        path: rawPath,
        headers,
        ...(request.port !== undefined ? { port: request.port } : {}),
      },
      host: request.host,
      gateway: gw,
      parent: `Gateway ${gw}`,
      appliedBy: `the ingress gateway (Gateway ${gw})`,
      protocol: { name: 'HTTP', tcp: false },
      match: { method, path, query, headers },
      clientNs: k8sIngress.gateway.namespace,
      notes,
    });
  }

  // 2. The VirtualService that serves the host, and the protocol of the port called: a TCP port
  //    takes a connection, not an HTTP request (the ingress gateway's servers speak HTTP).
  const chosen = chooseVirtualService(model, caller, request.host, request.port, clientNs, notes);
  const host = chosen.host;
  const proto = caller.ingress ? undefined : protocolOfHost(model, host, request.port);
  const protocol = { name: proto?.name ?? 'HTTP', tcp: proto?.handling === 'tcp' };
  const grpc = protocol.name === 'GRPC' || protocol.name === 'GRPC-WEB';
  const method = protocol.tcp ? '' : (request.method ?? (grpc ? 'POST' : 'GET')).toUpperCase();
  if (protocol.tcp && (request.method !== undefined || request.path !== undefined))
    notes.push(
      `${host}${request.port ? `:${request.port}` : ''} is a ${protocol.name} port: the call is a TCP connection, so the method and path do not apply`,
    );
  const req = {
    from: request.from ?? 'outside',
    host: request.host,
    method,
    path: protocol.tcp ? '' : rawPath,
    headers: protocol.tcp ? {} : headers,
    ...(request.port !== undefined ? { port: request.port } : {}),
  };
  if (chosen.noRoute)
    return chosen.httpsRedirect
      ? {
          request: req,
          caller,
          host,
          protocol,
          gateway: chosen.httpsRedirect,
          noRoute: false,
          destinations: [],
          redirect: { httpsRedirect: true, redirectCode: 301, scheme: 'https' },
          notes,
        }
      : { request: req, caller, host, protocol, noRoute: true, destinations: [], notes };
  if (protocol.tcp) return explainTcp(model, caller, chosen.vs, { req, host, clientNs, protocol, notes });
  const { gateway, vs } = chosen;

  // 2b. No VirtualService: the HTTPRoutes/GRPCRoutes whose parent is the Service called (GAMMA),
  //     applied by the caller's sidecar or by the Service's waypoint.
  const addressed = serviceOf(model, host);
  //     A Service the caller's Sidecar does not import has no routes in its proxy.
  if (!vs && !caller.ingress && addressed && !hiddenBySidecar(model, caller, host)) {
    const routes = serviceRoutes(model, addressed, request.port ?? addressed.ports[0]?.port);
    const appliedBy = routes.length ? meshRouteApplier(model, caller, addressed) : undefined;
    if (appliedBy)
      return explainGatewayApi(model, caller, routes, {
        req,
        host,
        gateway: undefined,
        parent: `Service ${addressed.namespace}/${addressed.name}`,
        appliedBy,
        protocol,
        match: { method, path, query, headers },
        clientNs,
        notes,
      });
  }

  // 3. Its first http rule that matches.
  let rule: ReturnType<typeof chooseRule> = undefined;
  if (vs) {
    rule = chooseRule(vs, {
      method,
      path,
      query,
      headers,
      authority: request.host,
      port: request.port,
      caller,
      gateway,
    });
    if (!rule) {
      notes.push(`no http rule of VirtualService ${vs.namespace}/${vs.name} matches: Envoy answers 404`);
      return {
        request: req,
        caller,
        host,
        protocol,
        ...(caller.ingress ? { gateway } : {}),
        virtualService: `${vs.namespace}/${vs.name}`,
        virtualServiceWhere: vs.where,
        noRoute: true,
        destinations: [],
        notes,
      };
    }
  }

  // 4. The destinations, with the mTLS and authorization of the hop to each.
  const vsNs = vs?.namespace ?? clientNs;
  const destinations = explainDestinations(
    model,
    caller,
    rule?.route,
    {
      host,
      authority: request.host,
      port: request.port,
      method,
      path,
      headers,
      ...(addressed ? { addressed } : {}),
    },
    vsNs,
    clientNs,
  );
  const primary = [...destinations].sort((a, b) => b.probability - a.probability)[0];

  // 5. What the route does besides: fault, timeout, retries, mirror, redirect.
  return {
    request: req,
    caller,
    host,
    protocol,
    ...(caller.ingress ? { gateway } : {}),
    ...(vs ? { virtualService: `${vs.namespace}/${vs.name}`, virtualServiceWhere: vs.where } : {}),
    ...(rule ? { route: rule.info } : {}),
    noRoute: false,
    destinations,
    ...routeEffects(model, rule?.route, vsNs),
    ...(primary?.tls ? { tls: primary.tls } : {}),
    ...(primary?.authorization ? { authorization: primary.authorization } : {}),
    notes,
  };
}

/**
 * A connection to a TCP port: the VirtualService's first `tcp` rule whose match holds (port and
 * sourceLabels) picks the destinations, its `http` rules do not apply; without one, the default
 * route to the Service. No fault, timeout, retry or mirror exists for TCP.
 */
function explainTcp(
  model: MeshModel,
  caller: Caller,
  vs: VirtualService | undefined,
  c: {
    req: Explanation['request'];
    host: string;
    clientNs: string;
    protocol: Explanation['protocol'];
    notes: string[];
  },
): Explanation {
  const port = c.req.port;
  const holds = (r: TcpRoute) =>
    !r.match?.length ||
    r.match.some(
      (m) =>
        (m.port === undefined || port === undefined || m.port === port) &&
        selects(m.sourceLabels, caller.labels) &&
        (!m.gateways?.length || m.gateways.includes('mesh')),
    );
  const index = vs ? vs.tcp.findIndex(holds) : -1;
  const rule = vs && index >= 0 ? vs.tcp[index]! : undefined;
  if (vs && !rule)
    c.notes.push(
      vs.tcp.length
        ? `no tcp rule of VirtualService ${vs.namespace}/${vs.name} matches: the default route to the Service`
        : `VirtualService ${vs.namespace}/${vs.name} has no tcp rule: its http rules do not apply to a TCP port, the default route to the Service does`,
    );
  const vsNs = vs?.namespace ?? c.clientNs;
  const destinations = explainDestinations(
    model,
    caller,
    rule ? ({ route: rule.route } as HttpRoute) : undefined,
    { host: c.host, authority: c.req.host, port, method: '', path: '', headers: {}, protocol: 'tcp' },
    vsNs,
    c.clientNs,
  );
  const primary = [...destinations].sort((a, b) => b.probability - a.probability)[0];
  return {
    request: c.req,
    caller,
    host: c.host,
    protocol: c.protocol,
    ...(vs ? { virtualService: `${vs.namespace}/${vs.name}`, virtualServiceWhere: vs.where } : {}),
    ...(rule
      ? {
          route: {
            index,
            kind: 'tcp' as const,
            ...(rule.match?.length
              ? { match: rule.match.findIndex((m) => m.port === undefined || m.port === port) }
              : {}),
          },
        }
      : {}),
    noRoute: false,
    destinations,
    ...(primary?.tls ? { tls: primary.tls } : {}),
    ...(primary?.authorization ? { authorization: primary.authorization } : {}),
    notes: c.notes,
  };
}

/**
 * A request routed by Gateway API routes (all attached to one parent): the rule that serves it,
 * its backends with their shares, mTLS and authorization, and what its filters do.
 */
function explainGatewayApi(
  model: MeshModel,
  caller: Caller,
  routes: readonly GatewayApiRoute[],
  c: {
    req: Explanation['request'];
    host: string;
    gateway: string | undefined;
    parent: string;
    appliedBy: string;
    protocol: Explanation['protocol'];
    match: { method: string; path: string; query: Record<string, string>; headers: Record<string, string> };
    clientNs: string;
    notes: string[];
  },
): Explanation {
  const base = {
    request: c.req,
    caller,
    host: c.host,
    protocol: c.protocol,
    ...(c.gateway ? { gateway: c.gateway } : {}),
  };
  const chosen = chooseGatewayApiRule(routes, c.match);
  if (!chosen) {
    c.notes.push(
      routes.length
        ? `no rule of ${routes.map((r) => `${r.kind} ${r.namespace}/${r.name}`).join(', ')} matches: 404`
        : `no HTTPRoute attached to ${c.parent} serves ${c.host}: 404`,
    );
    return { ...base, noRoute: true, destinations: [], notes: c.notes };
  }
  const { route, rule } = chosen;
  const effects = gatewayApiEffects(model, chosen, c.match.path, c.notes);
  const addressed = c.gateway ? undefined : serviceOf(model, c.host);
  const resolved = explainDestinations(
    model,
    caller,
    effects.route,
    {
      host: c.host,
      authority: effects.partial.rewrites?.hostname ?? c.req.host,
      port: c.req.port,
      method: c.match.method,
      path: c.match.path,
      headers: c.match.headers,
      ...(effects.upstreamPath !== undefined ? { upstreamPath: effects.upstreamPath } : {}),
      ...(addressed ? { addressed } : {}),
    },
    route.namespace,
    c.clientNs,
  );
  // A backend the route may not refer to serves nothing: its share answers 500.
  const destinations = resolved.map((d, i) => {
    const problem = effects.unresolved.get(i);
    return problem
      ? {
          host: d.host,
          ...(d.port !== undefined ? { port: d.port } : {}),
          probability: d.probability,
          workloads: [],
          problem: `${problem} (500)`,
        }
      : d;
  });
  const primary = [...destinations].sort((a, b) => b.probability - a.probability)[0];
  return {
    ...base,
    gatewayApiRoute: {
      kind: route.kind,
      name: `${route.namespace}/${route.name}`,
      where: route.where,
      parent: c.parent,
      appliedBy: c.appliedBy,
    },
    route: {
      index: chosen.ruleIndex,
      ...(typeof rule.name === 'string' ? { name: rule.name } : {}),
      ...(chosen.matchIndex !== undefined ? { match: chosen.matchIndex } : {}),
    },
    noRoute: false,
    destinations,
    ...effects.partial,
    ...(primary?.tls ? { tls: primary.tls } : {}),
    ...(primary?.authorization ? { authorization: primary.authorization } : {}),
    notes: c.notes,
  };
}
