/**
 * What the model reads of the Kubernetes Gateway API and of ambient mode: HTTPRoutes and GRPCRoutes
 * (their parents and backend Services), Gateways (their class: `istio` ingress, `istio-waypoint`
 * waypoints), the bundle version of installed Gateway API CRDs, whether a pod is captured by
 * ztunnel, and AuthorizationPolicy `targetRefs`.
 */
import type { GatewayApiRoute, K8sGateway, KubeObject, Labels, PolicyTargetRef } from './types.js';
import type { Entry } from './types.js';
import { arr, isObj, num, obj, str, type Json } from './json.js';

/** The API group of the Kubernetes Gateway API. */
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The class of Istio's waypoint Gateways. */
export const WAYPOINT_CLASS = 'istio-waypoint';

/** The oldest Gateway API CRD bundle Istio 1.30 works with. */
export const MIN_GATEWAY_API = { major: 1, minor: 5 } as const;

/** An HTTPRoute or GRPCRoute: its parents and the Services its rules send to. */
export function readGatewayApiRoute(e: Entry, spec: Json): GatewayApiRoute {
  return {
    ...e,
    kind: e.kind as GatewayApiRoute['kind'],
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
  return { ...e, kind: 'Gateway', gatewayClassName: str(spec.gatewayClassName) ?? '' };
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
