/**
 * Hop 3: the proxy that routes the request, the caller's sidecar on 15001 or the ingress
 * gateway: the VirtualService rule, the destination followed, fault, timeout, retries, mirror,
 * and where the request ends there (no route, a direct response, a fault, a timeout).
 */
import { durationMs } from '../../../api/duration.js';
import type { ExplainedDestination } from '../explain.js';
import { percent } from '../format.js';
import {
  BLACKHOLE_CLUSTER,
  OUTBOUND_CAPTURE_PORT,
  PASSTHROUGH_CLUSTER,
  PROXY_UID,
  type PathDestination,
  type PathOutcome,
  type RouteDecision,
} from './types.js';
import { stopAtLastHop, type Reached, type Ended, type Walk } from './walk.js';

const clusterName = (port: number | undefined, subset: string | undefined, host: string) =>
  `outbound|${port ?? ''}|${subset ?? ''}|${host}`;

/**
 * The host has no cluster in the caller's proxy (in no ServiceEntry and not a Service, or left out
 * by a Sidecar's `egress.hosts`): the destination's egress decision names the catch-all cluster.
 */
const catchAllOf = (dest: ExplainedDestination | undefined) =>
  dest?.egress?.result === 'passthrough'
    ? PASSTHROUGH_CLUSTER
    : dest?.egress?.result === 'blackhole'
      ? BLACKHOLE_CLUSTER
      : undefined;

/** Why the proxy has no virtual host for the destination, in a clause. */
const whyNoCluster = (dest: ExplainedDestination) =>
  dest.egress?.notImportedBy
    ? `${dest.egress.notImportedBy} does not import ${dest.host}`
    : `${dest.host} is in no ServiceEntry and is not a Service of the mesh`;

function toPathDestination(d: ExplainedDestination): PathDestination {
  return {
    host: d.host,
    ...(d.subset ? { subset: d.subset } : {}),
    ...(d.port !== undefined ? { port: d.port } : {}),
    probability: d.probability,
    ...(d.workloads[0] ? { workload: d.workloads[0] } : {}),
  };
}

/** The destination the path follows: the requested subset, else the most likely. */
export function followed(w: Walk): ExplainedDestination | undefined {
  const { e, request } = w;
  const byProbability = [...e.destinations].sort((a, b) => b.probability - a.probability);
  return (
    (request.subset !== undefined ? e.destinations.find((d) => d.subset === request.subset) : undefined) ??
    byProbability[0]
  );
}

export function routeDecision(w: Walk, dest: ExplainedDestination | undefined): RouteDecision {
  const { e, caller, servicePort } = w;
  return {
    ...(e.virtualService ? { virtualService: e.virtualService } : {}),
    ...(e.gatewayApiRoute ? { gatewayApiRoute: `${e.gatewayApiRoute.kind} ${e.gatewayApiRoute.name}` } : {}),
    ...(e.route
      ? {
          rule: `${e.gatewayApiRoute ? 'rules' : (e.route.kind ?? 'http')}[${e.route.index}]${e.route.name ? ` '${e.route.name}'` : ''}${e.route.match !== undefined ? ` match[${e.route.match}]` : ''}`,
        }
      : {}),
    ...(dest ? { destination: toPathDestination(dest) } : {}),
    alternatives: e.destinations.filter((d) => d !== dest).map(toPathDestination),
    ...(dest
      ? {
          cluster:
            catchAllOf(dest) ??
            clusterName(dest.port ?? (caller.ingress ? undefined : servicePort), dest.subset, dest.host),
        }
      : {}),
    ...(dest?.clusterMissingBy ? { clusterMissing: true } : {}),
    ...(e.fault ? { fault: e.fault } : {}),
    ...(e.timeout ? { timeout: e.timeout } : {}),
    ...(e.retries ? { retries: e.retries } : {}),
    ...(e.mirror ? { mirror: e.mirror } : {}),
  };
}

/**
 * The route's lines: the rule, the destination and its cluster, the others of a split, fault,
 * timeout, retries, mirror; `ownConnection` adds that the proxy's upstream connection (uid 1337) is
 * not captured again (a sidecar's, not a gateway's or a waypoint's).
 */
export function routeDetails(
  w: Walk,
  dest: ExplainedDestination | undefined,
  route: RouteDecision,
  ownConnection: boolean,
): string[] {
  const { e } = w;
  const details: string[] = [];
  const catchAll = catchAllOf(dest);
  details.push(
    e.virtualService
      ? `VirtualService ${e.virtualService}${route.rule ? ` ${route.rule}` : ''}`
      : e.gatewayApiRoute
        ? `${e.gatewayApiRoute.kind} ${e.gatewayApiRoute.name}${route.rule ? ` ${route.rule}` : ''} (parent ${e.gatewayApiRoute.parent})`
        : catchAll && dest
          ? `no virtual host for ${e.host} in the proxy's routes: ${whyNoCluster(dest)}`
          : `no VirtualService for ${e.host}: the default route to the Service`,
  );
  if (dest && catchAll === PASSTHROUGH_CLUSTER)
    details.push(
      `→ the catch-all virtual host allow_any: cluster ${PASSTHROUGH_CLUSTER}, which connects to the address the app dialled (${w.ip ?? dest.host}${w.servicePort !== undefined ? `:${w.servicePort}` : ''}) without mTLS (ALLOW_ANY, ${dest.egress?.decidedBy})`,
    );
  else if (dest && catchAll === BLACKHOLE_CLUSTER)
    details.push(
      e.protocol.tcp
        ? `→ cluster ${BLACKHOLE_CLUSTER}, which has no endpoints: the connection is closed (REGISTRY_ONLY, ${dest.egress?.decidedBy})`
        : `→ the catch-all virtual host block_all (${BLACKHOLE_CLUSTER}): the proxy answers 502 itself (REGISTRY_ONLY, ${dest.egress?.decidedBy})`,
    );
  else if (dest)
    details.push(
      `→ ${dest.host}${dest.subset ? ` subset ${dest.subset}` : ''} (${percent(dest.probability)})${dest.workloads.length ? `: ${dest.workloads.join(', ')}` : ''}, cluster ${route.cluster}${dest.clusterMissingBy ? `, which is not in the proxy: ${dest.clusterMissingBy} does not import ${dest.host}` : ''}`,
    );
  for (const d of e.destinations.filter((x) => x !== dest))
    details.push(
      `  or ${d.host}${d.subset ? ` subset ${d.subset}` : ''} (${percent(d.probability)}), not followed here`,
    );
  if (e.fault?.delay)
    details.push(`fault: delay ${e.fault.delay.fixedDelay} on ${e.fault.delay.percentage}% (flag DI)`);
  if (e.fault?.abort)
    details.push(`fault: abort HTTP ${e.fault.abort.httpStatus} on ${e.fault.abort.percentage}% (flag FI)`);
  if (e.timeout) details.push(`timeout ${e.timeout}`);
  if (e.retries)
    details.push(
      `retries ${e.retries.attempts}${e.retries.perTryTimeout ? ` × ${e.retries.perTryTimeout}` : ''}${e.retries.retryOn ? ` on ${e.retries.retryOn}` : ''}`,
    );
  if (e.mirror)
    details.push(
      `mirror ${e.mirror.percentage}% to ${e.mirror.host}${e.mirror.subset ? ` subset ${e.mirror.subset}` : ''} (fire and forget)`,
    );
  if (ownConnection && catchAll !== BLACKHOLE_CLUSTER && !dest?.clusterMissingBy)
    details.push(
      `Envoy's own connection to the endpoint runs as uid ${PROXY_UID}: ISTIO_OUTPUT RETURNs it, so it is not captured again`,
    );
  for (const n of e.notes) details.push(`note: ${n}`);
  return details;
}

/** The proxy answers the request itself: no route, a direct response, a redirect. */
export function answeredByProxy(w: Walk): PathOutcome | undefined {
  const { e } = w;
  if (e.noRoute)
    return { result: 'no-route', status: 404, responseFlags: 'NR', detail: e.notes[0] ?? 'no route matches' };
  if (e.directResponse !== undefined)
    return {
      result: 'answered-by-proxy',
      status: e.directResponse,
      detail: 'the route answers with a direct response',
    };
  if (e.redirect)
    return {
      result: 'answered-by-proxy',
      status: Number((e.redirect as { redirectCode?: number }).redirectCode ?? 301),
      detail: `the route redirects: ${JSON.stringify(e.redirect)}`,
    };
  return undefined;
}

export const NO_DESTINATION: PathOutcome = {
  result: 'unavailable',
  status: 503,
  responseFlags: 'NR',
  detail: 'the route has no destination',
};

/** The request ends before it leaves the pod: an unusable destination, a fault, a timeout, or a ServiceEntry. */
export function endsBeforeLeaving(w: Walk, dest: ExplainedDestination): PathOutcome | undefined {
  const { e } = w;
  if (dest.egress?.result === 'blackhole')
    return e.protocol.tcp
      ? { result: 'unavailable', responseFlags: 'UH', detail: dest.problem ?? BLACKHOLE_CLUSTER }
      : { result: 'unavailable', status: 502, detail: dest.problem ?? BLACKHOLE_CLUSTER };
  if (dest.problem)
    return {
      result: 'unavailable',
      status: 503,
      responseFlags: /\(503 (\w+)\)/.exec(dest.problem)?.[1] ?? 'NR',
      detail: dest.problem,
    };
  if (e.fault?.abort && e.fault.abort.percentage >= 100)
    return {
      result: 'fault',
      status: e.fault.abort.httpStatus,
      responseFlags: 'FI',
      detail: `the route aborts every request with HTTP ${e.fault.abort.httpStatus}; it never leaves the pod`,
    };
  const delay = durationMs(e.fault?.delay?.fixedDelay);
  const timeout = durationMs(e.timeout);
  if (
    e.fault?.delay &&
    e.fault.delay.percentage >= 100 &&
    delay !== undefined &&
    timeout !== undefined &&
    timeout <= delay
  )
    return {
      result: 'timeout',
      status: 504,
      responseFlags: 'DI,UT',
      detail: `the ${e.fault.delay.fixedDelay} delay outlasts the ${e.timeout} route timeout`,
    };
  if (!dest.workloads.length)
    return {
      result: 'left-mesh',
      detail:
        dest.egress?.result === 'passthrough'
          ? `${whyNoCluster(dest)}: ${PASSTHROUGH_CLUSTER} forwards the request as addressed and it leaves the mesh from here`
          : `${dest.host} is a ServiceEntry: the request leaves the mesh from here`,
    };
  return undefined;
}

/** The route's decision in one line: which route, to where (or the catch-all cluster). */
export function routeSummary(w: Walk, dest: ExplainedDestination | undefined): string {
  const { e } = w;
  const catchAll = catchAllOf(dest);
  const by = e.virtualService
    ? `VirtualService ${e.virtualService}`
    : e.gatewayApiRoute
      ? `${e.gatewayApiRoute.kind} ${e.gatewayApiRoute.name}`
      : undefined;
  if (!dest) return by ? `${by}: no rule matches` : `no route for ${e.host}`;
  if (catchAll && !by)
    return catchAll === PASSTHROUGH_CLUSTER
      ? `${PASSTHROUGH_CLUSTER} → ${dest.host} as addressed (ALLOW_ANY)${dest.workloads[0] ? `, no mTLS` : ''}`
      : `${BLACKHOLE_CLUSTER}: ${e.protocol.tcp ? 'the connection is closed' : '502'} (REGISTRY_ONLY)`;
  return `${by ?? 'default route'} → ${dest.host}${dest.subset ? ` subset ${dest.subset}` : ''}${dest.workloads[0] ? ` (${dest.workloads[0]})` : ''}`;
}

/** Pushes the hop; the request goes on to the destination's workload, or ends here. */
export function routingProxyHop(w: Walk): Reached | Ended {
  const { model, request, e, caller, cw, servicePort } = w;
  const dest = followed(w);
  const route = routeDecision(w, dest);
  const details = routeDetails(w, dest, route, !caller.ingress);
  const summary = routeSummary(w, dest);
  const catchAll = catchAllOf(dest);
  if (caller.ingress) {
    w.hops.push({
      kind: 'gateway',
      at: `${caller.description} (Envoy, ${caller.namespace})`,
      summary,
      details: [
        `listener :${request.port ?? 'the Gateway server port'}${e.gateway ? `, Gateway ${e.gateway}` : ''}; the gateway is a proxy itself, no iptables capture`,
        ...details,
      ],
      status: 'pass',
      ...(e.gateway ? { gateway: e.gateway } : {}),
      ...(request.port !== undefined ? { port: request.port } : {}),
      route,
    });
  } else {
    w.hops.push({
      kind: 'sidecar-outbound',
      at: `${cw?.name ?? 'caller'} istio-proxy :${OUTBOUND_CAPTURE_PORT}`,
      summary,
      details: [
        catchAll && !e.virtualService
          ? `outbound listener (virtualOutbound) hands the connection to the routes of ${servicePort !== undefined ? `port ${servicePort}` : 'the port dialled'}`
          : `outbound listener (virtualOutbound) hands the connection to the ${e.host}:${servicePort ?? ''} route`,
        ...details,
      ],
      status: 'pass',
      port: OUTBOUND_CAPTURE_PORT,
      route,
    });
  }
  const answered = answeredByProxy(w);
  if (!dest) return { ended: stopAtLastHop(w, answered ?? NO_DESTINATION) };
  const end = answered ?? endsBeforeLeaving(w, dest);
  if (end) return { ended: stopAtLastHop(w, end) };
  const server = model.workloads.find(
    (x) => x.name === dest.workloads[0] && x.namespace === dest.host.split('.')[1],
  );
  return { by: 'envoy', dest, server: server!, tls: dest.tls, authz: dest.authorization };
}
