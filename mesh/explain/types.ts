/** The shapes of the request simulator: a request, its caller, and what happens to it. */
import type { Labels, MtlsMode, OutboundTrafficPolicyMode, TlsMode } from '../model/types.js';
import type { AuthzResult } from './authz.js';

/** One request to explain. */
export interface ExplainRequest {
  /**
   * The caller: a workload (`productpage`, `ns/productpage`, a Deployment name or an `app`
   * label), a SPIFFE principal, `ingress` for the ingress gateway, or `outside` for a client
   * without a sidecar.
   * @default 'outside'
   */
  readonly from?: string;
  /** The host called: a Service short name (resolved in the caller's namespace), an FQDN, or, from `ingress`, the Host header. */
  readonly host: string;
  /** Port called. @default - the Service's first port (the Gateway's first server from ingress) */
  readonly port?: number;
  /** @default 'GET' ('POST' to a gRPC port; none to a TCP port, where a request is a connection) */
  readonly method?: string;
  /** @default '/' */
  readonly path?: string;
  /** Request headers (names are lower-cased). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The caller as the simulator sees it. */
export interface Caller {
  readonly description: string;
  readonly namespace: string | undefined;
  readonly labels: Labels;
  readonly principal: string | undefined;
  readonly sidecar: boolean;
  /** Captured by ztunnel (ambient mode): its traffic leaves in HBONE mTLS with its identity. */
  readonly ambient?: boolean;
  readonly ingress: boolean;
}

/** The mTLS mode of one hop. */
export interface HopTls {
  /** What the client sends: `ISTIO_MUTUAL` (mesh mTLS), `DISABLE` (plain text), or a DestinationRule's SIMPLE/MUTUAL. */
  readonly client: TlsMode;
  /** Who decided the client side: `DestinationRule ns/name` or `auto mTLS`. */
  readonly clientDecidedBy: string;
  /** The server's effective PeerAuthentication mode. */
  readonly server: Exclude<MtlsMode, 'UNSET'>;
  readonly serverDecidedBy: string;
  /** Whether the hop is mutual TLS with Istio identities (principals available to policies). */
  readonly mutual: boolean;
  /** Whether the connection succeeds; false means the request fails (reset / 503). */
  readonly ok: boolean;
}

export interface ExplainedDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** Share of the matched traffic, in [0, 1]. */
  readonly probability: number;
  /** The subset's labels (from the DestinationRule). */
  readonly labels?: Labels;
  readonly destinationRule?: string;
  /** Names of the workloads the destination reaches. */
  readonly workloads: readonly string[];
  /** Undefined when the destination has no workload (or is outside the mesh). */
  readonly tls?: HopTls;
  /**
   * The decision that holds for the request: the sidecar's; in ambient mode the waypoint's when it
   * denies, else the callee's ztunnel's.
   */
  readonly authorization?: AuthzResult;
  /**
   * Ambient mode: the waypoint the request passes on its way to the destination (`namespace/name`,
   * and which label bound it), and the decision of the policies attached to it (`targetRefs`: the
   * Service or the waypoint Gateway), evaluated with the caller's identity. The callee's ztunnel
   * then sees the waypoint's identity (`authorization`).
   */
  readonly waypoint?: {
    readonly name: string;
    readonly boundBy: string;
    readonly principal: string;
    readonly authorization: AuthzResult;
  };
  /** Why the destination cannot serve, if it cannot (unknown host or subset, no workload). */
  readonly problem?: string;
  /**
   * `Sidecar ns/name` when a route names this destination but that Sidecar's `egress.hosts` leave
   * it out of the caller's proxy: the route's cluster does not exist there (503 NC).
   */
  readonly clusterMissingBy?: string;
  /**
   * A host outside the cluster: registered by a ServiceEntry (routed to it), or unknown (or not
   * imported by the caller's Sidecar), when the outbound traffic policy decides: `ALLOW_ANY` passes it through (PassthroughCluster),
   * `REGISTRY_ONLY` answers 502 (BlackHoleCluster).
   */
  readonly egress?: {
    readonly result: 'serviceEntry' | 'passthrough' | 'blackhole';
    readonly serviceEntry?: string;
    readonly policy?: OutboundTrafficPolicyMode;
    readonly decidedBy?: string;
    /** `Sidecar ns/name` when the host is registered but that Sidecar's `egress.hosts` leave it out of the caller's proxy. */
    readonly notImportedBy?: string;
  };
}

/** Header changes of a route filter: set (replace), add (append), remove. */
export interface HeaderChanges {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

export interface ExplainedFault {
  readonly delay?: { readonly fixedDelay: string; readonly percentage: number };
  readonly abort?: { readonly httpStatus: number; readonly percentage: number };
}

export interface Explanation {
  readonly request: Required<Omit<ExplainRequest, 'port'>> & { readonly port?: number };
  readonly caller: Caller;
  /** The host after short-name resolution. */
  readonly host: string;
  /** `namespace/name` of the Gateway (from ingress). */
  readonly gateway?: string;
  /**
   * The HTTPRoute or GRPCRoute that routed the request instead of a VirtualService: which, where,
   * its parent (a Service: the mesh, GAMMA; a Gateway: ingress) and who applied it (the caller's
   * sidecar, the Service's waypoint, or the ingress gateway).
   */
  readonly gatewayApiRoute?: {
    readonly kind: 'HTTPRoute' | 'GRPCRoute';
    /** `namespace/name`. */
    readonly name: string;
    readonly where: string;
    readonly parent: string;
    readonly appliedBy: string;
  };
  /** What the route's filters change on the way (Gateway API `RequestHeaderModifier`, `ResponseHeaderModifier`, `URLRewrite`). */
  readonly rewrites?: {
    readonly requestHeaders?: HeaderChanges;
    readonly responseHeaders?: HeaderChanges;
    readonly hostname?: string;
    /** The path the backend receives. */
    readonly path?: string;
  };
  /** `namespace/name` of the matched VirtualService; undefined when none applies (default routing). */
  readonly virtualService?: string;
  /** Where the VirtualService came from. */
  readonly virtualServiceWhere?: string;
  /**
   * Index of the matched `http` rule (`tcp` rule, for a TCP port), its name, and which of its
   * `match` blocks matched.
   */
  readonly route?: {
    readonly index: number;
    readonly name?: string;
    readonly match?: number;
    readonly kind?: 'tcp';
  };
  /**
   * The protocol of the port called, as Istio reads it from the Service or ServiceEntry port
   * (`HTTP`, `GRPC`, `TCP`, `REDIS`, …; `UNKNOWN` when it names none and Istio sniffs), and
   * whether the request is an opaque TCP connection (then methods, paths, headers, HTTP routes and
   * the HTTP fields of policies do not apply).
   */
  readonly protocol: { readonly name: string; readonly tcp: boolean };
  /** True when no rule matched (Envoy answers 404). */
  readonly noRoute: boolean;
  readonly destinations: readonly ExplainedDestination[];
  readonly fault?: ExplainedFault;
  readonly timeout?: string;
  readonly retries?: {
    readonly attempts: number;
    readonly perTryTimeout?: string;
    readonly retryOn?: string;
  };
  readonly mirror?: { readonly host: string; readonly subset?: string; readonly percentage: number };
  readonly redirect?: Record<string, unknown>;
  readonly directResponse?: number;
  /** The mTLS of the hop to the most likely destination. */
  readonly tls?: HopTls;
  /** The authorization decision at the most likely destination. */
  readonly authorization?: AuthzResult;
  readonly notes: readonly string[];
}

/** Thrown when the request names a caller the model does not have. */
export class ExplainError extends Error {
  override readonly name = 'ExplainError';
}

export interface ExplainOptions {
  /** Labels of the ingress gateway pods. @default { istio: 'ingressgateway' } */
  readonly ingressSelector?: Labels;
  /** Namespace of the ingress gateway. @default the root namespace */
  readonly ingressNamespace?: string;
  /** ServiceAccount of the ingress gateway. @default 'istio-ingressgateway-service-account' */
  readonly ingressServiceAccount?: string;
}
