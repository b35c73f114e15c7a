/**
 * Authorization in ambient mode, placed where Istio enforces it
 * (istio.io/docs/ambient/usage/l4-policy, "Authorization policy attachment"):
 *
 * | waypoint in the path | attachment            | source identity seen | enforced by          |
 * | -------------------- | --------------------- | -------------------- | -------------------- |
 * | no                   | selector or namespace | the caller           | the callee's ztunnel |
 * | yes                  | selector or namespace | the waypoint         | the callee's ztunnel |
 * | yes                  | targetRefs (Service or waypoint Gateway) | the caller | the waypoint  |
 *
 * ztunnel is L4: an ALLOW rule with an HTTP field (methods, paths, hosts, request principals,
 * request headers) never matches there and a DENY rule matches without those fields, as Istio's
 * ambient policy translation does; so a selector-bound ALLOW policy whose rules all need L7 denies
 * every connection. A policy with `targetRefs` is enforced only by a waypoint: a request that does
 * not pass one (no waypoint, a client outside the mesh, the ingress gateway without
 * `istio.io/ingress-use-waypoint`) is not held to it.
 */
import { waypointFor, targetsServiceOrWaypoint, type WaypointBinding } from '../model/gateway-api.js';
import { policiesFor, principalOf } from '../model/query.js';
import type { MeshModel, Service, Workload } from '../model/types.js';
import { authorize, evaluatePolicies, type AuthzRequest, type AuthzResult } from './authz.js';
import type { Caller, ExplainedDestination } from './types.js';

/** The ServiceAccount Istio runs a waypoint with: the Gateway's name. */
export const waypointPrincipal = (model: MeshModel, wp: WaypointBinding) =>
  principalOf(model, wp.gateway.namespace, wp.gateway.name);

/** Whether the request from `caller` passes the Service's waypoint. */
export function passesWaypoint(caller: Caller, wp: WaypointBinding | undefined): wp is WaypointBinding {
  if (!wp) return false;
  if (caller.ingress) return wp.forIngress;
  return caller.ambient === true || caller.sidecar;
}

/** The waypoint a request from `caller` to `service` passes, if any. */
export function waypointOnPath(
  model: MeshModel,
  caller: Caller,
  service: Service | undefined,
): WaypointBinding | undefined {
  const wp = service ? waypointFor(model, service) : undefined;
  return passesWaypoint(caller, wp) ? wp : undefined;
}

/**
 * The authorization of a request to `server` (an ambient pod behind `service`): at the waypoint,
 * when the request passes one, then at the callee's ztunnel. `r` carries the caller's identity
 * when the hop is mTLS.
 */
export function authorizeAmbient(
  model: MeshModel,
  caller: Caller,
  service: Service,
  server: Workload,
  r: AuthzRequest,
): Pick<ExplainedDestination, 'authorization' | 'waypoint'> {
  const wp = waypointOnPath(model, caller, service);
  const atZtunnel = policiesFor(model, server).filter((p) => !p.targetRefs);
  const ztunnel = (req: AuthzRequest, who: string): AuthzResult => {
    const z = evaluatePolicies(atZtunnel, { ...req, protocol: 'tcp' }, 'at ztunnel (L4)');
    return { ...z, reason: `${z.reason} (ztunnel sees ${who})`, enforcedBy: `ztunnel of ${server.name}` };
  };
  if (!wp) {
    const ignored = model.authorizationPolicies.filter(
      (p) => p.namespace === service.namespace && targetsServiceOrWaypoint(p.targetRefs, service, undefined),
    );
    const z = ztunnel(r, r.principal ? `the caller's identity ${r.principal}` : 'no source identity');
    return {
      authorization: ignored.length
        ? {
            ...z,
            reason: `${z.reason}; no waypoint on this path, so ${ignored.map((p) => `${p.namespace}/${p.name}`).join(', ')} (targetRefs) ${ignored.length === 1 ? 'is' : 'are'} not enforced`,
          }
        : z,
    };
  }
  const name = `${wp.gateway.namespace}/${wp.gateway.name}`;
  const attached = model.authorizationPolicies.filter(
    (p) => p.namespace === service.namespace && targetsServiceOrWaypoint(p.targetRefs, service, wp.gateway),
  );
  const atWaypoint: AuthzResult = {
    ...evaluatePolicies(attached, r),
    enforcedBy: `waypoint ${name}`,
  };
  const principal = waypointPrincipal(model, wp);
  const waypoint = { name, boundBy: wp.boundBy, principal, authorization: atWaypoint };
  if (atWaypoint.decision !== 'ALLOW') return { authorization: atWaypoint, waypoint };
  // The waypoint opens its own HBONE connection to the callee: ztunnel sees the waypoint's identity.
  const z = ztunnel(
    { ...r, principal, sourceNamespace: wp.gateway.namespace },
    `the waypoint's identity ${principal}`,
  );
  return { authorization: z, waypoint };
}

/**
 * The decision that holds for a request from `caller` to `server` behind `service`: the sidecar's,
 * or in ambient mode the waypoint's and the callee's ztunnel's ({@link authorizeAmbient}).
 */
export function authorizeCall(
  model: MeshModel,
  caller: Caller,
  service: Service,
  server: Workload,
  r: AuthzRequest,
): AuthzResult {
  return server.ambient
    ? authorizeAmbient(model, caller, service, server, r).authorization!
    : authorize(model, server, r);
}
