/**
 * Which route applies: the VirtualService that serves the host (bound to the mesh, or to a
 * Gateway that selects the ingress gateway), then its first `http` rule that matches.
 */
import { hostMatches, indexOf, lookupHost, resolveHost, selects, sidecarHiding } from '../model/query.js';
import { waypointOnPath } from './ambient.js';
import type { Gateway, HttpRoute, MeshModel, Sidecar, VirtualService } from '../model/types.js';
import { gatewayRef, keepsAnyRule, matchHolds, type MatchContext } from './http-match.js';
import type { Caller, Explanation } from './types.js';

function matchingGateways(
  model: MeshModel,
  caller: Caller,
  host: string,
  port: number | undefined,
): Gateway[] {
  return model.gateways.filter(
    (g) =>
      selects(g.selector, caller.labels) &&
      g.servers.some(
        (s) =>
          (port === undefined || s.port.number === port) &&
          s.hosts.some((h) => hostMatches(h.includes('/') ? h.split('/')[1]! : h, host)),
      ),
  );
}

/** The VirtualService chosen for a request, or why there is no route at all. */
export type VirtualServiceChoice =
  | {
      readonly host: string;
      /** The gateway of this request: `mesh` or the `namespace/name` of a Gateway. */
      readonly gateway: string;
      /** Undefined: the default route to the Service (never from the ingress gateway). */
      readonly vs: VirtualService | undefined;
      readonly noRoute: false;
    }
  | {
      readonly host: string;
      readonly noRoute: true;
      /** The Gateway server requires TLS (`tls.httpsRedirect`): Envoy answers 301 to `https://`. */
      readonly httpsRedirect?: string;
    };

/**
 * The VirtualService for `requestHost` as seen by `caller` (the caller's namespace first, then the
 * Service's, as Istio orders them). Appends what a user should know to `notes`.
 */
export function chooseVirtualService(
  model: MeshModel,
  caller: Caller,
  requestHost: string,
  port: number | undefined,
  clientNs: string,
  notes: string[],
): VirtualServiceChoice {
  let host: string;
  let gateway = 'mesh';
  let candidates: VirtualService[];
  const ambientWaypoint = (() => {
    if (!caller.ambient) return undefined;
    const reg = lookupHost(model, resolveHost(requestHost, clientNs, model.clusterDomain));
    return reg?.type === 'service' ? waypointOnPath(model, caller, reg.service) : undefined;
  })();
  if (!caller.ingress && !caller.sidecar && !ambientWaypoint) {
    // No proxy on the caller's side: the connection goes to the Service's ClusterIP and kube-proxy
    // picks any of its pods (ztunnel, for an ambient caller, is L4 and picks one as well); no
    // VirtualService applies (what `explain --hops` walks).
    host = resolveHost(requestHost, clientNs, model.clusterDomain);
    notes.push(
      caller.ambient
        ? `${caller.description} is captured by ztunnel, which is L4, and ${host} has no waypoint: no VirtualService, HTTPRoute, subset, fault, timeout, retry or mirror applies; ztunnel picks any pod of the Service`
        : `${caller.description} has no sidecar: no VirtualService, subset, fault, timeout, retry or mirror applies; kube-proxy picks any pod of the Service`,
    );
    return { host, gateway, vs: undefined, noRoute: false };
  }
  if (caller.ingress) {
    host = requestHost;
    const gws = matchingGateways(model, caller, host, port);
    if (!gws.length) {
      notes.push(
        `no Gateway selecting the ingress gateway has a server for ${host}${port ? `:${port}` : ''}`,
      );
      return { host, noRoute: true };
    }
    // A plain-HTTP server with tls.httpsRedirect: Istio marks its virtual host "require TLS", so
    // Envoy answers every plain-text request with a 301 to https before any route is looked at.
    // Without a port, the request is taken to the first server for the host, as elsewhere.
    const servesHost = (s: Gateway['servers'][number]) =>
      (port === undefined || s.port.number === port) &&
      s.hosts.some((h) => hostMatches(h.includes('/') ? h.split('/')[1]! : h, host));
    const requiresTls = (s: Gateway['servers'][number]) =>
      s.tls?.httpsRedirect === true && ['HTTP', 'HTTP2', 'GRPC'].includes(s.port.protocol ?? '');
    const redirecting = gws.find((g) =>
      port === undefined
        ? g === gws[0] && requiresTls(g.servers.find(servesHost)!)
        : g.servers.some((s) => servesHost(s) && requiresTls(s)),
    );
    if (redirecting) {
      const gw = `${redirecting.namespace}/${redirecting.name}`;
      notes.push(`Gateway ${gw} sets tls.httpsRedirect on this server: Envoy answers 301 to https://${host}`);
      return { host, noRoute: true, httpsRedirect: gw };
    }
    const refs = new Set(gws.map((g) => `${g.namespace}/${g.name}`));
    candidates = model.virtualServices.filter(
      (vs) =>
        vs.gateways.some((g) => {
          const r = gatewayRef(g, vs.namespace);
          if (refs.has(r)) gateway = r;
          return refs.has(r);
        }) && vs.hosts.some((h) => hostMatches(h, host) || hostMatches(host, h)),
    );
  } else {
    host = resolveHost(requestHost, clientNs, model.clusterDomain);
    const hiding = hiddenBySidecar(model, caller, host);
    if (hiding) {
      notes.push(
        `Sidecar ${hiding.namespace}/${hiding.name} does not import ${host} (egress hosts: ${hiding.egressHosts.join(', ')}): ${caller.description}'s proxy has no VirtualService, subset or route for it, and its outbound traffic policy decides`,
      );
      return { host, gateway, vs: undefined, noRoute: false };
    }
    const byHost = indexOf(model).virtualServicesByHost;
    candidates = [...new Set([...(byHost.get(host) ?? []), ...(byHost.get('*') ?? [])])].filter(
      (vs) =>
        (!vs.gateways.length || vs.gateways.includes('mesh')) &&
        vs.hosts.some((h) => hostMatches(resolveHost(h, vs.namespace, model.clusterDomain), host)),
    );
  }
  // A VirtualService Istio rejects (MESH001 / IST0106) is not in the mesh: say so where it would apply.
  for (const bad of model.invalid) {
    if (bad.kind !== 'VirtualService') continue;
    const hosts = (bad.raw.spec as { hosts?: unknown } | undefined)?.hosts;
    if (
      Array.isArray(hosts) &&
      hosts.some(
        (h) =>
          typeof h === 'string' &&
          hostMatches(caller.ingress ? h : resolveHost(h, bad.namespace, model.clusterDomain), host),
      )
    )
      notes.push(
        `VirtualService ${bad.namespace}/${bad.name} is not applied: Istio rejects it (${bad.problems[0] ?? 'invalid'}); the request is explained without it`,
      );
  }
  const serviceNs = host.split('.')[1];
  const order = (vs: VirtualService) => (vs.namespace === clientNs ? 0 : vs.namespace === serviceNs ? 1 : 2);
  const vs = [...candidates].sort((a, b) => order(a) - order(b))[0];
  if (candidates.length > 1)
    notes.push(`${candidates.length} VirtualServices match ${host}; Istio uses ${vs!.namespace}/${vs!.name}`);
  if (vs && !caller.ingress && !keepsAnyRule(vs.http, caller, gateway, vs.namespace)) {
    // Every rule's match blocks name other sources: Istio generates no route from this
    // VirtualService for the caller's proxy, and the host keeps its default route.
    notes.push(
      `every rule of VirtualService ${vs.namespace}/${vs.name} matches other sources (sourceLabels, sourceNamespace or gateways): Istio drops it for ${caller.description}, which takes the default route to the Service`,
    );
    return { host, gateway, vs: undefined, noRoute: false };
  }
  if (caller.ingress && !vs) {
    // A gateway has routes only from the VirtualServices bound to it: no default route to a Service.
    notes.push(`no VirtualService bound to a Gateway of the ingress gateway serves ${host}: 404`);
    return { host, noRoute: true };
  }
  return { host, gateway, vs, noRoute: false };
}

/**
 * The Sidecar that keeps a registered `host` (Service or ServiceEntry) out of the caller's proxy,
 * if any: only a caller with its own sidecar (not the ingress gateway, not ztunnel) has one.
 */
export function hiddenBySidecar(model: MeshModel, caller: Caller, host: string): Sidecar | undefined {
  if (caller.ingress || !caller.sidecar || caller.ambient || caller.namespace === undefined) return undefined;
  const reg = lookupHost(model, host);
  if (!reg) return undefined;
  const hostNamespace = reg.type === 'service' ? reg.service.namespace : reg.entry.namespace;
  return sidecarHiding(model, caller.namespace, caller.labels, host, hostNamespace);
}

/** The first `http` rule of `vs` that matches, with where it sits; undefined when none does. */
export function chooseRule(
  vs: VirtualService,
  ctx: MatchContext,
): { readonly route: HttpRoute; readonly info: NonNullable<Explanation['route']> } | undefined {
  for (const [i, r] of vs.http.entries()) {
    if (!r.match?.length) return { route: r, info: { index: i, ...(r.name ? { name: r.name } : {}) } };
    const mi = r.match.findIndex((m) => matchHolds(m, ctx, vs.namespace));
    if (mi >= 0) return { route: r, info: { index: i, ...(r.name ? { name: r.name } : {}), match: mi } };
  }
  return undefined;
}
