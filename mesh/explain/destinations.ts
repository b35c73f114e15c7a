/**
 * Where a matched route sends the request: each destination with its share of the traffic, the
 * subset's labels and workloads, the mTLS of the hop and the callee's authorization decision.
 */
import { destinationWeights } from '../../api/route-weights.js';
import {
  containerPortOf,
  destinationRuleFor,
  lookupHost,
  outboundTrafficPolicyFor,
  resolveHost,
  selects,
  workloadsOf,
} from '../model/query.js';
import type { HttpRoute, Labels, MeshModel, Service, Sidecar } from '../model/types.js';
import type { Registered } from '../model/query.js';
import { authorizeAmbient } from './ambient.js';
import { authorize } from './authz.js';
import { hiddenBySidecar } from './route.js';
import { hopTls } from './tls.js';
import type { Caller, ExplainedDestination } from './types.js';

/** The request as the destinations see it. */
export interface DestinationRequest {
  /** The host after short-name resolution. */
  readonly host: string;
  /** The Host header as sent. */
  readonly authority: string;
  readonly port: number | undefined;
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** `tcp` for a connection to a TCP port. @default 'http' */
  readonly protocol?: 'http' | 'tcp';
  /** The path the callee receives when a route rewrites it (what its policies see). @default - `path` */
  readonly upstreamPath?: string;
  /**
   * The Service the caller addressed: in ambient mode its waypoint, and the policies attached to
   * it, serve the request whichever backend the route picks. @default - each destination's own
   */
  readonly addressed?: Service;
}

/**
 * The destinations of `route` (without one, the default route to the Service), their hosts
 * resolved in `vsNs` and their DestinationRules looked up from `clientNs`.
 */
export function explainDestinations(
  model: MeshModel,
  caller: Caller,
  route: HttpRoute | undefined,
  request: DestinationRequest,
  vsNs: string,
  clientNs: string,
): ExplainedDestination[] {
  const { host, method, path, headers } = request;
  const targets = route
    ? (route.route ?? []).map((d) => ({ ...d.destination, weight: d.weight }))
    : [
        {
          host,
          subset: undefined,
          port: request.port ? { number: request.port } : undefined,
          weight: undefined,
        },
      ];
  const weights = destinationWeights(targets);
  const total = weights.reduce((a, b) => a + b, 0) || 1;

  return targets.map((t, i) => {
    const fqdn = resolveHost(t.host, vsNs, model.clusterDomain);
    const port = t.port?.number ?? (caller.ingress ? undefined : request.port);
    const base = {
      host: fqdn,
      ...(t.subset ? { subset: t.subset } : {}),
      ...(port !== undefined ? { port } : {}),
      probability: weights[i]! / total,
    };
    const reg = lookupHost(model, fqdn);
    const hiding = reg ? hiddenBySidecar(model, caller, fqdn) : undefined;
    if (hiding && reg)
      return notImported(model, caller, hiding, reg, base, { route, port, method, path, headers, request });
    if (!reg && !caller.ingress && caller.sidecar && !fqdn.endsWith(`.svc.${model.clusterDomain}`)) {
      // A host outside the cluster and the registry: the outbound traffic policy decides.
      const { mode, decidedBy } = outboundTrafficPolicyFor(model, caller.namespace, caller.labels);
      return mode === 'ALLOW_ANY'
        ? { ...base, workloads: [], egress: { result: 'passthrough' as const, policy: mode, decidedBy } }
        : {
            ...base,
            workloads: [],
            egress: { result: 'blackhole' as const, policy: mode, decidedBy },
            problem: `${fqdn} is in no ServiceEntry and the outbound traffic policy is REGISTRY_ONLY (${decidedBy}): the sidecar sends it to BlackHoleCluster (502)`,
          };
    }
    if (!reg) return { ...base, workloads: [], problem: `no Service or ServiceEntry for ${fqdn} (503 NR)` };
    if (reg.type === 'serviceEntry')
      return {
        ...base,
        workloads: [],
        egress: { result: 'serviceEntry' as const, serviceEntry: `${reg.entry.namespace}/${reg.entry.name}` },
      };
    const svc = reg.service;
    const dr = destinationRuleFor(model, fqdn, caller.namespace ?? clientNs);
    let labels: Labels | undefined;
    if (t.subset) {
      const s = dr?.subsets.find((x) => x.name === t.subset);
      if (!s)
        return {
          ...base,
          workloads: [],
          problem: `subset ${t.subset} is not defined in a DestinationRule for ${fqdn} (503 NR)`,
        };
      labels = s.labels;
    }
    const ws = workloadsOf(model, svc).filter((w) => selects(labels, w.podLabels));
    const drRef = dr ? `${dr.namespace}/${dr.name}` : undefined;
    const common = {
      ...base,
      ...(labels ? { labels } : {}),
      ...(drRef ? { destinationRule: drRef } : {}),
      workloads: ws.map((w) => w.name),
    };
    if (!ws.length)
      return {
        ...common,
        problem: `no workload behind ${fqdn}${t.subset ? ` subset ${t.subset}` : ''} (503 UH)`,
      };
    const server = ws[0]!;
    const cport = containerPortOf(svc, port);
    const tls = hopTls(model, caller, server, dr, t.subset, port ?? svc.ports[0]?.port, cport);
    const authzRequest = {
      ...(tls.mutual ? { principal: caller.principal, sourceNamespace: caller.namespace } : {}),
      method,
      path: request.upstreamPath ?? path,
      host: request.authority,
      ...(cport !== undefined ? { port: cport } : {}),
      headers,
      ...(request.protocol ? { protocol: request.protocol } : {}),
    };
    if (server.ambient)
      return {
        ...common,
        tls,
        ...authorizeAmbient(model, caller, request.addressed ?? svc, server, authzRequest),
      };
    return { ...common, tls, authorization: authorize(model, server, authzRequest) };
  });
}

/**
 * A destination the caller's Sidecar does not import: the proxy has no cluster for it. Named by a
 * route (of a VirtualService on another host), the route's cluster does not exist (503 NC);
 * called directly, the outbound traffic policy decides: REGISTRY_ONLY answers 502 from
 * BlackHoleCluster, ALLOW_ANY passes the connection through as addressed, so a Service's pods get
 * it in plain text through kube-proxy, without the caller's identity.
 */
function notImported(
  model: MeshModel,
  caller: Caller,
  sidecar: Sidecar,
  reg: NonNullable<Registered>,
  base: Pick<ExplainedDestination, 'host' | 'subset' | 'port' | 'probability'>,
  r: {
    route: HttpRoute | undefined;
    port: number | undefined;
    method: string;
    path: string;
    headers: Readonly<Record<string, string>>;
    request: DestinationRequest;
  },
): ExplainedDestination {
  const by = `Sidecar ${sidecar.namespace}/${sidecar.name}`;
  if (r.route)
    return {
      ...base,
      workloads: [],
      clusterMissingBy: by,
      problem: `${by} does not import ${base.host}: the route's cluster is not in ${caller.description}'s proxy (503 NC)`,
    };
  const { mode, decidedBy } = outboundTrafficPolicyFor(model, caller.namespace, caller.labels);
  const egress = { policy: mode, decidedBy, notImportedBy: by };
  if (mode !== 'ALLOW_ANY')
    return {
      ...base,
      workloads: [],
      egress: { result: 'blackhole', ...egress },
      problem: `${by} does not import ${base.host} and the outbound traffic policy is REGISTRY_ONLY (${decidedBy}): the sidecar sends it to BlackHoleCluster (502)`,
    };
  if (reg.type === 'serviceEntry')
    return { ...base, workloads: [], egress: { result: 'passthrough', ...egress } };
  // Passed through to the ClusterIP: kube-proxy picks any pod, and the proxy adds no mTLS.
  const svc = reg.service;
  const ws = workloadsOf(model, svc);
  const common = {
    ...base,
    workloads: ws.map((w) => w.name),
    egress: { result: 'passthrough' as const, ...egress },
  };
  if (!ws.length) return { ...common, problem: `no workload behind ${base.host} (503 UH)` };
  const server = ws[0]!;
  const cport = containerPortOf(svc, r.port);
  const tls = {
    ...hopTls(
      model,
      { ...caller, sidecar: false },
      server,
      undefined,
      undefined,
      r.port ?? svc.ports[0]?.port,
      cport,
    ),
    clientDecidedBy: 'PassthroughCluster, which adds no mTLS',
  };
  const authorization = authorize(model, server, {
    method: r.method,
    path: r.path,
    host: r.request.authority,
    ...(cport !== undefined ? { port: cport } : {}),
    headers: r.headers,
    ...(r.request.protocol ? { protocol: r.request.protocol } : {}),
  });
  return { ...common, tls, authorization };
}
