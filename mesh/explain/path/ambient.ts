/**
 * The ambient-mode hops (istio.io/latest/docs/ambient/architecture/data-plane): the caller's node
 * ztunnel captures the connection in the pod (istio-cni's in-pod redirect to 15001) and opens an
 * HBONE tunnel (mTLS, HTTP/2 CONNECT on 15008) with the pod's identity, to the Service's waypoint
 * when it has one, else straight to the endpoint's ztunnel. ztunnel is L4: it applies no route and
 * enforces only the selector and namespace policies (on the callee's side); the waypoint applies
 * the L7 routes and the `targetRefs` policies with the caller's identity, then opens its own tunnel
 * to the callee's ztunnel with its own. Plain text from outside the mesh reaches the callee's
 * ztunnel on 15006 with no identity.
 *
 * Where each policy holds is the explanation's ({@link authorizeAmbient}); this module places it
 * at its hop.
 */
import { WAYPOINT_CLASS, waypointReference } from '../../model/gateway-api.js';
import type { Workload } from '../../model/types.js';
import { waypointOnPath } from '../ambient.js';
import type { AuthzResult } from '../authz.js';
import type { ExplainedDestination } from '../explain.js';
import {
  answeredByProxy,
  endsBeforeLeaving,
  followed,
  NO_DESTINATION,
  routeDecision,
  routeDetails,
  routeSummary,
} from './routing-proxy.js';
import {
  HBONE_PORT,
  ZTUNNEL_OUTBOUND_PORT,
  ZTUNNEL_PLAINTEXT_PORT,
  type PathHop,
  type PathOutcome,
} from './types.js';
import { stopAtLastHop, targetPortOf, type Walk } from './walk.js';

const rbacFlag = (a: AuthzResult) => {
  if (a.rule === undefined) return 'rbac_access_denied_matched_policy[none]';
  const [ns, name] = (a.policy ?? '/').split('/');
  return `rbac_access_denied_matched_policy[ns[${ns}]-policy[${name}]-rule[${a.rule}]]`;
};

/** Why the Service has no waypoint although a label names one: the Gateway is not in the mesh. */
function missingWaypoint(w: Walk): string | undefined {
  if (!w.service) return undefined;
  const ref = waypointReference(w.model, w.service);
  if (!ref || waypointOnPath(w.model, w.caller, w.service)) return undefined;
  const exists = w.model.k8sGateways.some(
    (g) => g.name === ref.name && g.namespace === ref.namespace && g.gatewayClassName === WAYPOINT_CLASS,
  );
  if (exists) return undefined;
  return `${ref.boundBy} names waypoint ${ref.namespace}/${ref.name} (istio.io/use-waypoint), but the mesh has no Gateway ${ref.namespace}/${ref.name} of class istio-waypoint: istiod binds no waypoint (the Service's istio.io/WaypointBound condition is False), so ztunnel connects straight to the pod and no L7 route or targetRefs policy applies`;
}

/** The workload `dest` reaches (the first of its workloads). */
function serverOf(w: Walk, dest: ExplainedDestination): Workload | undefined {
  return w.model.workloads.find(
    (x) => x.name === dest.workloads[0] && x.namespace === dest.host.split('.')[1],
  );
}

/**
 * Hop 2 of an ambient caller: its node's ztunnel, which chooses the waypoint or the endpoint;
 * then the tunnels, the waypoint and the callee's side ({@link ambientInbound}).
 */
export function ambientOutbound(w: Walk): PathOutcome {
  const { model, e, caller, cw, service } = w;
  const name = cw?.name ?? caller.description;
  const dest = followed(w);
  const wp = waypointOnPath(model, caller, service);
  const missing = missingWaypoint(w);
  const pool = dest?.workloads ?? [];
  const details = [
    `istio-cni redirects ${name}'s outbound connections, inside its pod, to its node's ztunnel; there is no sidecar and no ISTIO_* chain of a proxy in the pod`,
    `ztunnel is L4: it applies no VirtualService, HTTPRoute or L7 policy; the tunnel carries ${name}'s identity ${caller.principal ?? '(unknown)'}`,
    ...(wp
      ? [
          `Service ${service!.namespace}/${service!.name} uses waypoint ${wp.gateway.namespace}/${wp.gateway.name} (${wp.boundBy}'s istio.io/use-waypoint): the connection goes to the waypoint`,
        ]
      : [
          ...(missing ? [missing] : []),
          dest && pool.length
            ? `no waypoint for ${e.host}: ztunnel picks an endpoint of the Service itself (${pool.join(', ')}); followed: ${pool[0]}`
            : `no waypoint for ${e.host}`,
        ]),
  ];
  const summary = wp
    ? `HBONE to waypoint ${wp.gateway.namespace}/${wp.gateway.name} for ${e.host}`
    : dest && pool.length
      ? `no waypoint: HBONE straight to ${pool[0]}'s ztunnel`
      : `no endpoint for ${e.host}`;
  w.hops.push({
    kind: 'ztunnel-outbound',
    at: `${name}'s ztunnel (its node's), outbound :${ZTUNNEL_OUTBOUND_PORT}`,
    summary,
    details: [...details, ...e.notes.map((n) => `note: ${n}`)],
    status: 'pass',
    port: ZTUNNEL_OUTBOUND_PORT,
    ...(wp ? { waypoint: `${wp.gateway.namespace}/${wp.gateway.name}` } : {}),
  });
  if (!dest) return stopAtLastHop(w, answeredByProxy(w) ?? NO_DESTINATION);
  if (!wp) {
    const end = (e.noRoute ? answeredByProxy(w) : undefined) ?? endsBeforeLeaving(w, dest);
    if (end) return stopAtLastHop(w, end);
  }
  const server = serverOf(w, dest);
  if (!server) return stopAtLastHop(w, NO_DESTINATION);
  return ambientInbound(w, dest, server, `${name}'s ztunnel`, caller.principal);
}

/**
 * From the sender of the tunnel to the callee's app: the waypoint when the request passes one
 * (its route when the caller is ambient, and its `targetRefs` policies), the tunnels, and the
 * callee's ztunnel with its L4 policies.
 */
export function ambientInbound(
  w: Walk,
  dest: ExplainedDestination,
  server: Workload,
  sender: string,
  principal: string | undefined,
): PathOutcome {
  const { e, caller } = w;
  const wp = dest.waypoint;
  let identity = principal;
  let from = sender;
  if (wp) {
    w.hops.push(hbone(`${sender} → waypoint ${wp.name} :${HBONE_PORT}`, e.host, principal));
    const route = routeDecision(w, dest);
    const routed = caller.ambient === true;
    const authz = wp.authorization;
    const denied = authz.decision === 'DENY';
    w.hops.push({
      kind: 'waypoint',
      at: `waypoint ${wp.name} (Envoy, in its own pod)`,
      summary: `${routed ? `${routeSummary(w, dest)}; ` : ''}L7 authorization: ${authz.decision}${authz.policy ? ` by ${authz.policy}` : ''}`,
      details: [
        ...(routed ? routeDetails(w, dest, route, false) : ['the route was applied before the tunnel']),
        `authorization (policies attached by targetRefs to the Service or the waypoint, with the caller's identity ${principal ?? '(none)'}): ${authz.reason}`,
        ...(denied ? [] : [`the waypoint opens its own HBONE tunnel to the endpoint, as ${wp.principal}`]),
      ],
      status: denied ? 'stop' : 'pass',
      waypoint: wp.name,
      route,
      authorization: authz,
    });
    if (routed) {
      const end = answeredByProxy(w) ?? endsBeforeLeaving(w, dest);
      if (end) return stopAtLastHop(w, end);
    }
    if (denied)
      return {
        result: 'denied',
        status: 403,
        responseFlags: rbacFlag(authz),
        detail: `RBAC: access denied at waypoint ${wp.name} (${authz.reason})`,
      };
    identity = wp.principal;
    from = `waypoint ${wp.name}`;
  }
  w.hops.push(
    hbone(`${from} → ${server.name}'s ztunnel :${HBONE_PORT}`, `${server.name}'s pod IP`, identity),
  );
  return ztunnelInbound(w, dest, server, identity, wp ? `waypoint ${wp.name}` : undefined);
}

function hbone(
  at: string,
  target: string,
  principal: string | undefined,
): Extract<PathHop, { kind: 'hbone' }> {
  return {
    kind: 'hbone',
    at,
    summary: `mutual TLS, HTTP/2 CONNECT to ${target}, as ${principal ?? '(no identity)'}`,
    details: ["HBONE: the tunnel's client certificate is the identity the other end's policies see"],
    status: 'pass',
    port: HBONE_PORT,
    ...(principal ? { principal } : {}),
  };
}

/**
 * The callee's ztunnel: the tunnel (or plain text on 15006) ends, its selector and namespace
 * policies are enforced at L4, and the app gets the connection from the original source address.
 */
function ztunnelInbound(
  w: Walk,
  dest: ExplainedDestination,
  server: Workload,
  identity: string | undefined,
  via: string | undefined,
): PathOutcome {
  const tls = dest.tls;
  const plain = tls !== undefined && !tls.mutual;
  const at = `${server.name}'s ztunnel (its node's), inbound :${plain ? ZTUNNEL_PLAINTEXT_PORT : HBONE_PORT}`;
  const port = plain ? ZTUNNEL_PLAINTEXT_PORT : HBONE_PORT;
  if (tls && !tls.ok) {
    w.hops.push({
      kind: 'ztunnel-inbound',
      at,
      summary: `plain text refused: PeerAuthentication ${tls.server}`,
      details: [`mTLS ${tls.server} decided by ${tls.serverDecidedBy}`],
      status: 'stop',
      port,
    });
    return {
      result: 'refused',
      detail: `${server.name}'s ztunnel accepts only HBONE (STRICT): the plain-text connection is closed`,
    };
  }
  const authz = dest.authorization;
  const denied = authz?.decision === 'DENY';
  w.hops.push({
    kind: 'ztunnel-inbound',
    at,
    summary: `${plain ? 'plain text from outside the mesh' : 'the tunnel ends'}; L4 authorization: ${authz?.decision ?? 'ALLOW'}${authz?.policy ? ` by ${authz.policy}` : ''}`,
    details: [
      ...(tls ? [`mTLS ${tls.server} decided by ${tls.serverDecidedBy}`] : []),
      identity && !plain
        ? `peer identity ${identity}`
        : 'no peer identity: source principals and namespaces cannot match',
      `authorization (selector and namespace policies, L4): ${authz?.reason ?? 'no policy applies'}`,
    ],
    status: denied ? 'stop' : 'pass',
    port,
    ...(identity && !plain ? { principal: identity } : {}),
    ...(authz ? { authorization: authz } : {}),
  });
  if (denied)
    return {
      result: 'denied',
      ...(via ? { status: 503 } : {}),
      detail: `${server.name}'s ztunnel closes the connection (${authz.reason}); ${via ? `${via} answers 503` : 'the caller sees the connection reset'}`,
    };
  const targetPort = targetPortOf(w, dest);
  const source = via ? `${via}'s pod IP` : w.cw && !plain ? `${w.cw.name}'s pod IP` : 'the caller pod IP';
  w.hops.push({
    kind: 'callee',
    at: `${server.name} app container${targetPort !== undefined ? ` :${targetPort}` : ''}`,
    summary: `receives the request from ${source}`,
    details: ['ztunnel delivers it inside the pod, keeping the source address'],
    status: 'pass',
    workload: server.name,
    ...(targetPort !== undefined ? { port: targetPort } : {}),
    source,
  });
  return { result: 'delivered', detail: `${server.name} answers` };
}

/** The callee's side for a caller that is not ambient: a sidecar's or gateway's tunnel, or plain text. */
export function ambientCallee(w: Walk, server: Workload, sender: string | undefined): PathOutcome {
  const dest = w.e.destinations.find((d) => d.workloads.includes(server.name));
  if (!dest) return { result: 'unavailable', detail: `no destination reaches ${server.name}` };
  if (sender) return ambientInbound(w, dest, server, sender, w.caller.principal);
  return ztunnelInbound(w, dest, server, undefined, undefined);
}
