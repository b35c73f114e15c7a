/**
 * What every hop of a path reads (the model, the request, the simulator's explanation, the caller,
 * the Service addressed) and what the walk has gathered so far (the hops and the bypasses).
 */
import { namespaceInjection } from '../../model/load.js';
import { containerPortOf, lookupHost } from '../../model/query.js';
import type { MeshModel, Service, Workload } from '../../model/types.js';
import type { AuthzResult } from '../authz.js';
import type { Caller, ExplainedDestination, Explanation, HopTls } from '../explain.js';
import { obj, podAnnotations } from './capture.js';
import type { Bypass, PathHop, PathOutcome, PathRequest, RequestPath } from './types.js';

export interface Walk {
  readonly model: MeshModel;
  readonly request: PathRequest;
  /** The routing / mTLS / authorization explanation the path is built on. */
  readonly e: Explanation;
  readonly caller: Caller;
  /** The caller's workload, when the caller is one of the model's (not the ingress gateway). */
  readonly cw: Workload | undefined;
  /** The Service the request is addressed to, when the host is one. */
  readonly service: Service | undefined;
  /** The Service port the caller connects to (none from the ingress gateway). */
  readonly servicePort: number | undefined;
  /** The IP the caller connects to: the request's, or the Service's clusterIP. */
  readonly ip: string | undefined;
  readonly hops: PathHop[];
  readonly bypasses: Bypass[];
}

function callerWorkload(model: MeshModel, caller: Caller): Workload | undefined {
  if (caller.ingress || caller.namespace === undefined) return undefined;
  return (
    model.workloads.find((w) => `${w.kind} ${w.namespace}/${w.name}` === caller.description) ??
    model.workloads.find(
      (w) => w.namespace === caller.namespace && caller.principal?.endsWith(`/sa/${w.serviceAccountName}`),
    )
  );
}

/** The walk of `request` before its first hop. */
export function startWalk(model: MeshModel, request: PathRequest, e: Explanation): Walk {
  const caller = e.caller;
  const reg = lookupHost(model, e.host);
  const service = reg?.type === 'service' ? reg.service : undefined;
  const clusterIp = obj(service?.raw.spec).clusterIP;
  return {
    model,
    request,
    e,
    caller,
    cw: callerWorkload(model, caller),
    service,
    servicePort: caller.ingress ? undefined : (request.port ?? service?.ports[0]?.port),
    ip:
      request.ip ??
      (typeof clusterIp === 'string' && clusterIp !== 'None' && clusterIp !== '' ? clusterIp : undefined),
    hops: [],
    bypasses: [],
  };
}

/** The path as walked, ending with `outcome`. */
export function finish(w: Walk, outcome: PathOutcome): RequestPath {
  return { explanation: w.e, hops: w.hops, bypasses: w.bypasses, outcome };
}

/** The request ends at the last hop so far: it is marked `stop`. */
export function stopAtLastHop(w: Walk, outcome: PathOutcome): PathOutcome {
  const last = w.hops[w.hops.length - 1]!;
  w.hops[w.hops.length - 1] = { ...last, status: 'stop' };
  return outcome;
}

/** The container port the request reaches on the callee: of the destination's Service, else of the one addressed. */
export function targetPortOf(w: Walk, dest: ExplainedDestination | undefined): number | undefined {
  const destReg = dest ? lookupHost(w.model, dest.host) : lookupHost(w.model, w.e.host);
  const destService = destReg?.type === 'service' ? destReg.service : w.service;
  return destService ? containerPortOf(destService, dest?.port ?? w.servicePort) : undefined;
}

/** Why a workload has no sidecar, in one sentence. */
export function noSidecarWhy(model: MeshModel, w: Workload): string {
  const inject = w.podLabels['sidecar.istio.io/inject'] ?? podAnnotations(w)['sidecar.istio.io/inject'];
  if (inject === 'false') return `${w.name}'s pods say sidecar.istio.io/inject: "false"`;
  const ns = model.namespaces.find((n) => n.name === w.namespace);
  const mode = ns ? namespaceInjection(ns.labels) : 'namespace';
  if (mode === 'off')
    return `namespace ${w.namespace} has istio-injection: ${ns!.labels['istio-injection']}${inject === 'true' ? ', which a pod cannot override' : ''}`;
  if (mode === 'pod')
    return `namespace ${w.namespace} has no istio-injection or istio.io/rev label, and ${w.name}'s pods are not labelled sidecar.istio.io/inject: "true"`;
  return `namespace ${w.namespace} is not enabled for injection`;
}

/** Where the request goes once past the caller's side, and who chose the endpoint. */
export type Reached =
  | {
      /** A proxy routed the request: the caller's sidecar or the ingress gateway. */
      readonly by: 'envoy';
      readonly dest: ExplainedDestination;
      readonly server: Workload;
      readonly tls: HopTls | undefined;
      readonly authz: AuthzResult | undefined;
    }
  | {
      /** No proxy on the caller's side: kube-proxy's ClusterIP NAT picked a pod of the Service. */
      readonly by: 'kube-proxy';
      readonly service: Service;
      readonly server: Workload;
      /** The workloads kube-proxy picks among. */
      readonly pool: readonly string[];
    };

/** A hop where the request ends instead of going on, and how. */
export interface Ended {
  readonly ended: PathOutcome;
}
