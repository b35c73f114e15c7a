/**
 * What the model reads of the Kubernetes Gateway API and of ambient mode: HTTPRoutes and GRPCRoutes
 * (their parents and backend Services), Gateways (their class: `istio` ingress, `istio-waypoint`
 * waypoints), the bundle version of installed Gateway API CRDs, whether a pod is captured by
 * ztunnel, and AuthorizationPolicy `targetRefs`.
 */
import type {
  CrossNamespaceRef,
  Entry,
  GatewayApiRoute,
  K8sGateway,
  KubeObject,
  Labels,
  MeshModel,
  PolicyTargetRef,
  ReferenceGrant,
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

/** Every `backendRef` of a route's rules (Services and other kinds), with its namespace and field. */
export function routeBackendRefs(route: GatewayApiRoute): CrossNamespaceRef[] {
  return route.rules.flatMap((r, i) =>
    arr((r as Json).backendRefs).map((b, j) => {
      const o = obj(b);
      return {
        group: str(o.group) ?? '',
        kind: str(o.kind) ?? 'Service',
        name: str(o.name) ?? '',
        namespace: str(o.namespace) ?? route.namespace,
        field: `rules[${i}].backendRefs[${j}]`,
      };
    }),
  );
}

export function readK8sGateway(e: Entry, spec: Json): K8sGateway {
  return {
    ...e,
    kind: 'Gateway',
    gatewayClassName: str(spec.gatewayClassName) ?? '',
    certificateRefs: arr(spec.listeners).flatMap((l, i) =>
      arr(obj(obj(l).tls).certificateRefs).map((c, j) => {
        const o = obj(c);
        return {
          group: str(o.group) ?? '',
          kind: str(o.kind) ?? 'Secret',
          name: str(o.name) ?? '',
          namespace: str(o.namespace) ?? e.namespace,
          field: `listeners[${i}].tls.certificateRefs[${j}]`,
        };
      }),
    ),
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

export function readReferenceGrant(e: Entry, spec: Json): ReferenceGrant {
  return {
    ...e,
    from: arr(spec.from).map((f) => {
      const o = obj(f);
      return { group: str(o.group) ?? '', kind: str(o.kind) ?? '', namespace: str(o.namespace) ?? '' };
    }),
    to: arr(spec.to).map((t) => {
      const o = obj(t);
      const name = str(o.name);
      return { group: str(o.group) ?? '', kind: str(o.kind) ?? '', ...(name ? { name } : {}) };
    }),
  };
}

/**
 * Namespaces whose namespaced objects are in the model, so their ReferenceGrants would be too: a
 * reference into another namespace is judged only there.
 */
export function namespacesWithObjects(m: MeshModel): Set<string> {
  return new Set(
    [...m.services, ...m.workloads, ...m.referenceGrants, ...m.k8sGateways, ...m.gatewayApiRoutes].map(
      (e) => e.namespace,
    ),
  );
}

/** What refers: a route or Gateway, by group, kind and namespace. */
export interface Referrer {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
}

/**
 * The ReferenceGrant that lets `from` refer to `to`: for a reference within one namespace, none is
 * needed (`'same namespace'`); else one in `to`'s namespace whose `from` names `from`'s group, kind
 * and namespace and whose `to` names `to`'s group and kind (and its name, or no name). Undefined
 * when none does: the reference is not permitted (RefNotPermitted).
 */
export function referenceGrantFor(
  model: MeshModel,
  from: Referrer,
  to: Pick<CrossNamespaceRef, 'group' | 'kind' | 'name' | 'namespace'>,
): ReferenceGrant | 'same namespace' | undefined {
  if (from.namespace === to.namespace) return 'same namespace';
  return model.referenceGrants.find(
    (g) =>
      g.namespace === to.namespace &&
      g.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
      g.to.some(
        (t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name),
      ),
  );
}

/** Why a cross-namespace reference is not permitted, in the words of the Gateway API's status. */
export function refNotPermitted(from: Referrer & { readonly name: string }, to: CrossNamespaceRef): string {
  const what = `${to.group ? `${to.kind}.${to.group}` : to.kind} ${to.namespace}/${to.name}`;
  return `${to.field} refers to ${what} in another namespace, and no ReferenceGrant in ${to.namespace} lets ${from.kind} from ${from.namespace} refer to it (ResolvedRefs=False, RefNotPermitted)`;
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
