/**
 * What the parts of a mesh see of the Mesh they belong to, and how they find it. The Mesh chart
 * implements {@link IMesh}; constructs the Mesh itself creates (its ZeroTrustPolicy) reach it
 * through this interface, so the Mesh can create them without an import cycle.
 */
import type { IConstruct } from 'constructs';
import type { MtlsMode as PeerAuthenticationMode } from '../mesh/model/types.js';
import type { IMeshPeer, IWorkload } from './peer.js';

/** The mutual-TLS mode a mesh or a port sets (PeerAuthentication; `UNSET`, "inherit", is not set). */
export type MtlsMode = Exclude<PeerAuthenticationMode, 'UNSET'>;

/**
 * Where a mesh's traffic is handled: Envoy sidecars in every pod, or ambient mode (the node's
 * ztunnel for mTLS and L4 policy, waypoint proxies for L7).
 * @see https://istio.io/latest/docs/ambient/overview/
 */
export type DataPlane = 'sidecar' | 'ambient';

/**
 * The API a mesh's routes are written in: Istio's (VirtualService, DestinationRule subsets,
 * Istio Gateway) or the Kubernetes Gateway API (HTTPRoute/GRPCRoute with a Service parent, one
 * Service per version for weighted backends, ingress as a Gateway of class `istio`).
 * @see https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/
 */
export type TrafficApi = 'istio' | 'gateway-api';

/** A declared call from one peer to an App: the edge of the mesh's call graph. */
export interface MeshCall {
  readonly from: IMeshPeer;
  readonly to: IMeshPeer & IWorkload;
  /** HTTP methods allowed. @default - any */
  readonly methods?: readonly string[];
  /** Paths allowed (Istio's AuthorizationPolicy path syntax; gRPC methods are `/package.Service/Method`). @default - any */
  readonly paths?: readonly string[];
  /** Container ports of the callee allowed (AuthorizationPolicy `ports`). @default - any */
  readonly ports?: readonly number[];
}

export type CallListener = (call: MeshCall) => void;

/** The Mesh as its parts see it. */
export interface IMesh extends IConstruct {
  /** Namespace of the mesh's objects. */
  readonly namespace: string;
  /** Istio trust domain: the first part of every SPIFFE principal. */
  readonly trustDomain: string;
  /** Sidecars or ambient. */
  readonly dataPlane: DataPlane;
  /** Istio's traffic API or the Gateway API. */
  readonly trafficApi: TrafficApi;
  /** Name of the namespace's waypoint (ambient mode with a waypoint); undefined otherwise. */
  readonly waypointName: string | undefined;
  /** The declared call graph. */
  readonly calls: readonly MeshCall[];
  /** SPIFFE principal of a ServiceAccount in this mesh. */
  principalOf(namespace: string, serviceAccountName: string): string;
  /** @internal registers the mesh's ZeroTrustPolicy (at most one). */
  _registerZeroTrust(zt: IConstruct): void;
  /** @internal subscribes to the calls into this mesh, replaying the ones already declared. */
  _onCall(listener: CallListener): void;
  /** @internal records a call from or to this mesh (and in the callee's mesh, when that is another). */
  _recordCall(call: MeshCall): void;
}

const MESH = Symbol.for('cdk8s-mesh.Mesh');

/** @internal marks a construct as a Mesh, for {@link meshOf}. */
export function markMesh(mesh: IMesh): void {
  Object.defineProperty(mesh, MESH, { value: true });
}

/** Whether `c` is a Mesh (only a Mesh chart is: any other Chart is not). */
export function isMesh(c: unknown): c is IMesh {
  return typeof c === 'object' && c !== null && (c as Record<symbol, unknown>)[MESH] === true;
}

/** The Mesh a construct belongs to; throws if it is not inside one. */
export function meshOf(scope: IConstruct): IMesh {
  for (let s: IConstruct | undefined = scope; s; s = s.node.scope) {
    if (isMesh(s)) return s;
  }
  throw new Error(`${scope.node.path}: must be created inside a Mesh (new App(mesh, 'name', …))`);
}
