import type { ApiObject } from 'cdk8s';
/**
 * The small interfaces relationships go through: a mesh peer has an identity (a SPIFFE
 * principal); a workload has pods selected by labels; a releasable workload has versions,
 * Deployments and routes a CanaryRelease can drive.
 */
import type { HttpRouteOptions } from './routing.js';

/** Something that makes requests in the mesh with an identity of its own. */
export interface IMeshPeer {
  /** A name for messages and generated object names. */
  readonly name: string;
  readonly namespace: string;
  /** The ServiceAccount whose certificate identifies the peer. */
  readonly serviceAccountName: string;
  /** Its SPIFFE principal, `<trustDomain>/ns/<ns>/sa/<sa>`, as AuthorizationPolicy `principals` name it. */
  readonly principal: string;
}

/** Something with pods, selected by labels (the target of policies with a `selector`). */
export interface IWorkload {
  readonly name: string;
  readonly namespace: string;
  /** Labels common to all its pods (`app: <name>`). */
  readonly selector: Readonly<Record<string, string>>;
}

/** A workload with versions, some of which may be declared without pods (`deploy: false`). */
export interface IVersionedWorkload extends IWorkload {
  /** Every version (subset) it declares. */
  readonly versions: readonly string[];
  /** The versions it runs pods for. */
  readonly deployedVersions: readonly string[];
}

/** A versioned workload whose route a CanaryRelease drives (an App). */
export interface IReleasable extends IVersionedWorkload {
  /** Host of its Service, as route destinations name it. */
  readonly host: string;
  /** Its mesh, as far as the traffic API it routes with. */
  readonly mesh: { readonly trafficApi: string };
  /** The protocol of its primary port (a gRPC App's release counts gRPC errors). @default 'http' */
  readonly protocol?: AppProtocol;
  /** Its Deployments by version (deployed versions only). */
  readonly deployments: Readonly<Record<string, { readonly name: string }>>;
  /** The routes added so far, in order. */
  readonly routes: readonly HttpRouteOptions[];
  /** Appends an HTTP route to its VirtualService. */
  addRoute(options: HttpRouteOptions): unknown;
  /** Its VirtualService, once a route exists. */
  readonly virtualService?: ApiObject | undefined;
  /** Its HTTPRoute (GRPCRoute for gRPC), once a route exists on a Gateway API mesh. */
  readonly gatewayApiRoute?: ApiObject | undefined;
}

/** Istio's protocol names; a Service port is named after its protocol (`http`, `grpc-web`, `tcp-redis`). @see https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/ */
export type AppProtocol = 'http' | 'http2' | 'grpc' | 'https' | 'tcp' | 'tls';

/** One port of a workload's Service. */
export interface WorkloadPort {
  /** The Service port's name, `<protocol>` or `<protocol>-<suffix>`. */
  readonly name: string;
  /** The Service port. */
  readonly port: number;
  /** The container port (what AuthorizationPolicy `ports` and PeerAuthentication `portLevelMtls` name). */
  readonly targetPort: number;
  readonly protocol: AppProtocol;
}

/** A workload other peers can call: its identity, its pods and the ports of its Service. */
export interface ICallee extends IMeshPeer, IWorkload {
  /** The Service's ports, the first one the primary. */
  readonly ports: readonly WorkloadPort[];
}

/** A peer whose pods may run without the Envoy sidecar. */
export interface ISidecarAware {
  /** Whether its pods get the sidecar (and so an mTLS identity). */
  readonly sidecar: boolean;
}
