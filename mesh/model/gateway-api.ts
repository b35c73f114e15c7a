/**
 * What the model reads of the Kubernetes Gateway API and of ambient mode: HTTPRoutes and GRPCRoutes
 * (their parents and backend Services), Gateways (their class: `istio` ingress, `istio-waypoint`
 * waypoints), the bundle version of installed Gateway API CRDs, whether a pod is captured by
 * ztunnel, and AuthorizationPolicy `targetRefs`.
 */
import type {
  Entry,
  GatewayApiRoute,
  K8sGateway,
  KubeObject,
  Labels,
  MeshModel,
  PolicyTargetRef,
  Service,
} from './types.js';
import { arr, isObj, num, obj, str, type Json } from './json.js';

/** The API group of the Kubernetes Gateway API. */
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The class of Istio's waypoint Gateways. */
export const WAYPOINT_CLASS = 'istio-waypoint';

/** The oldest Gateway API CRD bundle Istio 1.30 works with. */
export const MIN_GATEWAY_API = { major: 1, minor: 5 } as const;

/** An HTTPRoute or GRPCRoute: its parents and the Services its rules send to. */
export function readGatewayApiRoute(e: Entry, spec: Json): GatewayApiRoute {
  const created = e.raw.metadata && str((e.raw.metadata as Json).creationTimestamp);
  return {
    ...e,
    kind: e.kind as GatewayApiRoute['kind'],
    hostnames: arr(spec.hostnames).flatMap((h) => (typeof h === 'string' ? [h] : [])),
    ...(created ? { creationTimestamp: created } : {}),
    // The object passed the CRD schema (mesh/model/schema) before the model reads it.
    rules: arr(spec.rules).filter(isObj) as unknown as GatewayApiRoute['rules'],
    parentRefs: arr(spec.parentRefs).map((p) => {
      const o = obj(p);
      return {
        group: str(o.group) ?? GATEWAY_API_GROUP,
        kind: str(o.kind) ?? 'Gateway',
        name: str(o.name) ?? '',
        namespace: str(o.namespace) ?? e.namespace,
        ...(num(o.port) !== undefined ? { port: num(o.port) } : {}),
      };
    }),
    backends: arr(spec.rules).flatMap((r, i) =>
      arr(obj(r).backendRefs).flatMap((b, j) => {
        const o = obj(b);
        const kind = str(o.kind) ?? 'Service';
        if ((str(o.group) ?? '') !== '' || kind !== 'Service') return [];
        return [
          {
            name: str(o.name) ?? '',
            namespace: str(o.namespace) ?? e.namespace,
            ...(num(o.port) !== undefined ? { port: num(o.port) } : {}),
            field: `rules[${i}].backendRefs[${j}]`,
          },
        ];
      }),
    ),
  };
}

export function readK8sGateway(e: Entry, spec: Json): K8sGateway {
  return {
    ...e,
    kind: 'Gateway',
    gatewayClassName: str(spec.gatewayClassName) ?? '',
    listeners: arr(spec.listeners).map((l) => {
      const o = obj(l);
      return {
        name: str(o.name) ?? '',
        port: num(o.port) ?? 0,
        protocol: str(o.protocol) ?? '',
        ...(str(o.hostname) !== undefined ? { hostname: str(o.hostname) } : {}),
      };
    }),
  };
}

/** `targetRefs` (or the older single `targetRef`) of a policy. */
export function readTargetRefs(spec: Json): PolicyTargetRef[] | undefined {
  const refs = [...arr(spec.targetRefs), ...(isObj(spec.targetRef) ? [spec.targetRef] : [])].map((r) => {
    const o = obj(r);
    return { group: str(o.group) ?? '', kind: str(o.kind) ?? '', name: str(o.name) ?? '' };
  });
  return refs.length ? refs : undefined;
}

/**
 * Whether ztunnel captures a pod: the pod or its namespace is labelled
 * `istio.io/dataplane-mode: ambient` (the pod's `none` opts out), and it has no sidecar.
 */
export function capturedByZtunnel(
  nsLabels: Labels | undefined,
  podLabels: Labels,
  sidecar: boolean,
): boolean {
  if (sidecar) return false;
  const pod = podLabels['istio.io/dataplane-mode'];
  if (pod !== undefined) return pod === 'ambient';
  return nsLabels?.['istio.io/dataplane-mode'] === 'ambient';
}

/** The bundle version a Gateway API CRD states, when it is one. */
export function gatewayApiCrdVersion(object: KubeObject): string | undefined {
  const spec = obj(object.spec);
  if (str(spec.group) !== GATEWAY_API_GROUP) return undefined;
  return object.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'] ?? '(no bundle-version)';
}

/** The label that sends a Service's (or a namespace's) traffic through a waypoint. */
export const USE_WAYPOINT = 'istio.io/use-waypoint';
/** The label naming the waypoint's namespace when it is not the Service's. */
export const USE_WAYPOINT_NAMESPACE = 'istio.io/use-waypoint-namespace';
/** The label that makes the ingress gateway send a Service's traffic through its waypoint too. */
export const INGRESS_USE_WAYPOINT = 'istio.io/ingress-use-waypoint';

/** The waypoint a Service's traffic passes, as Istio's ambient index finds it. */
export interface WaypointBinding {
  /** The waypoint Gateway (class istio-waypoint). */
  readonly gateway: K8sGateway;
  /** Which label chose it: the Service's or its namespace's. */
  readonly boundBy: string;
  /** Whether traffic from the ingress gateway passes it too (`istio.io/ingress-use-waypoint`). */
  readonly forIngress: boolean;
}

/** The waypoint a Service's `istio.io/use-waypoint` label (else its namespace's) names, found or not. */
export interface WaypointReference {
  readonly name: string;
  readonly namespace: string;
  /** Which label named it: the Service's or its namespace's. */
  readonly boundBy: string;
  /** Whether traffic from the ingress gateway passes it too (`istio.io/ingress-use-waypoint`). */
  readonly forIngress: boolean;
}

/**
 * The waypoint `service`'s `istio.io/use-waypoint` label names, else its namespace's (`none` opts
 * out), in the Service's namespace or the one `istio.io/use-waypoint-namespace` names; whether the
 * model has that Gateway or not. A Service's own label that names a missing waypoint does not fall
 * back to its namespace's, as in Istio's ambient index.
 */
export function waypointReference(model: MeshModel, service: Service): WaypointReference | undefined {
  const ns = model.namespaces.find((n) => n.name === service.namespace);
  const own = service.labels[USE_WAYPOINT];
  const labels = own !== undefined ? service.labels : ns?.labels;
  const name = labels?.[USE_WAYPOINT];
  if (name === undefined || name === 'none' || name === '') return undefined;
  const ingress = service.labels[INGRESS_USE_WAYPOINT] ?? ns?.labels[INGRESS_USE_WAYPOINT];
  return {
    name,
    namespace: labels?.[USE_WAYPOINT_NAMESPACE] ?? service.namespace,
    boundBy:
      own !== undefined ? `Service ${service.namespace}/${service.name}` : `namespace ${service.namespace}`,
    forIngress: ingress === 'true',
  };
}

/**
 * The waypoint of `service` ({@link waypointReference}): a Gateway of class istio-waypoint.
 * Undefined when there is none, or when the label names a Gateway the model does not have (istiod
 * then binds no waypoint, reports the Service's `istio.io/WaypointBound` condition False, and
 * ztunnel sends the traffic straight to the pods; the validator reports the missing waypoint).
 */
export function waypointFor(model: MeshModel, service: Service): WaypointBinding | undefined {
  const ref = waypointReference(model, service);
  if (!ref) return undefined;
  const gateway = model.k8sGateways.find(
    (g) => g.name === ref.name && g.namespace === ref.namespace && g.gatewayClassName === WAYPOINT_CLASS,
  );
  if (!gateway) return undefined;
  return { gateway, boundBy: ref.boundBy, forIngress: ref.forIngress };
}

/** Whether a policy's `targetRefs` attach it to `service` or to its waypoint (what the waypoint enforces). */
export function targetsServiceOrWaypoint(
  refs: readonly PolicyTargetRef[] | undefined,
  service: Service,
  waypoint: K8sGateway | undefined,
): boolean {
  return (refs ?? []).some(
    (r) =>
      (r.group === '' && r.kind === 'Service' && r.name === service.name) ||
      (waypoint !== undefined &&
        r.group === GATEWAY_API_GROUP &&
        r.kind === 'Gateway' &&
        r.name === waypoint.name),
  );
}
