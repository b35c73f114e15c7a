/**
 * The shapes of a request's path (hops, bypasses, outcome) and the sidecar-mode constants they
 * name: capture ports, the proxy's uid, the ports Istio keeps for itself, the capture annotations.
 */
import type { AuthzResult } from '../authz.js';
import type { ExplainedFault, ExplainRequest, Explanation, HopTls } from '../explain.js';

/** Envoy's outbound capture port (`ISTIO_REDIRECT`). */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** The cluster of the catch-all virtual host `allow_any` (ALLOW_ANY): to the address the app dialled. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** What REGISTRY_ONLY sends an unknown host to: the catch-all `block_all` answers 502 (HTTP), a TCP connection is closed. */
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/** ztunnel's outbound capture port in an ambient pod's network namespace. */
export const ZTUNNEL_OUTBOUND_PORT = 15001;
/** HBONE: mTLS HTTP/2 CONNECT tunnels, accepted by ztunnel and waypoints. */
export const HBONE_PORT = 15008;
/** ztunnel's inbound port for plain text from outside the mesh, in an ambient pod's network namespace. */
export const ZTUNNEL_PLAINTEXT_PORT = 15006;
/** Envoy's inbound capture port (`ISTIO_IN_REDIRECT`). */
export const INBOUND_CAPTURE_PORT = 15006;
/** The uid (and gid) istio-proxy runs as; ISTIO_OUTPUT never captures its traffic. */
export const PROXY_UID = 1337;
/** Source address of the inbound sidecar's connection to the app (`InboundPassthroughBindIpv4`). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';
/** Ports ISTIO_INBOUND always RETURNs: HBONE, Envoy's Prometheus stats, health, the agent's status. */
export const ISTIO_INBOUND_EXCLUDED_PORTS: Readonly<Record<number, string>> = {
  15008: 'HBONE tunnel',
  15090: "Envoy's Prometheus stats",
  15021: 'health checks',
  15020: "the agent's merged metrics and status",
};

/** The pod annotations that change what iptables captures. */
export const CAPTURE_ANNOTATIONS = {
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
} as const;

/** A request to follow: an {@link ExplainRequest} plus what only the path depends on. */
export interface PathRequest extends ExplainRequest {
  /** The uid the caller's process runs as; 1337 (the proxy's) is never captured. @default - an application uid */
  readonly uid?: number;
  /** The IP the caller connects to, for the CIDR annotations. @default - the Service's `clusterIP` when the model has it */
  readonly ip?: string;
  /** Follow this subset when the route splits traffic. @default - the most likely destination */
  readonly subset?: string;
}

/** Why traffic does not go through a sidecar at some hop. */
export interface Bypass {
  readonly reason:
    | 'no-sidecar'
    | 'proxy-uid'
    | 'excluded-port'
    | 'port-not-included'
    | 'excluded-cidr'
    | 'cidr-not-included'
    | 'istio-port';
  /** Which side: the caller's outbound capture or the callee's inbound capture. */
  readonly side: 'outbound' | 'inbound';
  /** One sentence: the rule or annotation and its value. */
  readonly detail: string;
}

export type HopStatus = 'pass' | 'bypass' | 'stop';

interface HopBase {
  /** Where the hop happens: a pod and container, its iptables, its proxy listener, the wire. */
  readonly at: string;
  /** What happens, in one line. */
  readonly summary: string;
  /** The decisions and the objects that made them. */
  readonly details: readonly string[];
  /** `pass` on the usual path, `bypass` when a sidecar is skipped here, `stop` where the request ends. */
  readonly status: HopStatus;
  readonly bypass?: Bypass;
}

/** The destination the path follows. */
export interface PathDestination {
  readonly host: string;
  readonly subset?: string;
  /** Service port. */
  readonly port?: number;
  readonly probability: number;
  /** The workload the path reaches (the first of the destination's). */
  readonly workload?: string;
}

/** What the proxy that routes the request decides (the caller's sidecar on 15001, or the ingress gateway). */
export interface RouteDecision {
  /** `namespace/name`, undefined for the default route to the Service. */
  readonly virtualService?: string;
  /** `HTTPRoute ns/name` or `GRPCRoute ns/name` when one routed the request instead of a VirtualService. */
  readonly gatewayApiRoute?: string;
  /** `http[i]` (`rules[i]` of an HTTPRoute) with its name and matched block. */
  readonly rule?: string;
  readonly destination?: PathDestination;
  /** The other destinations of a split. */
  readonly alternatives: readonly PathDestination[];
  /**
   * Envoy's upstream cluster: `outbound|<port>|<subset>|<fqdn>`; `PassthroughCluster` or
   * `BlackHoleCluster` for a host the proxy has no cluster for (not in the registry, or left out
   * by a Sidecar), as the outbound traffic policy decides.
   */
  readonly cluster?: string;
  /** The route names a cluster the caller's proxy does not have (a Sidecar leaves its host out): 503 NC. */
  readonly clusterMissing?: boolean;
  readonly fault?: ExplainedFault;
  readonly timeout?: string;
  readonly retries?: Explanation['retries'];
  readonly mirror?: Explanation['mirror'];
}

export type PathHop =
  | (HopBase & {
      readonly kind: 'caller';
      readonly workload?: string;
      readonly sidecar: boolean;
      readonly target: { readonly host: string; readonly port?: number; readonly ip?: string };
    })
  | (HopBase & {
      readonly kind: 'iptables-outbound';
      /** The nat chains the SYN walks. */
      readonly chains: readonly string[];
      readonly redirectPort?: typeof OUTBOUND_CAPTURE_PORT;
    })
  | (HopBase & { readonly kind: 'sidecar-outbound'; readonly port: number; readonly route: RouteDecision })
  | (HopBase & {
      readonly kind: 'gateway';
      readonly gateway?: string;
      readonly port?: number;
      readonly route: RouteDecision;
    })
  | (HopBase & {
      readonly kind: 'transport';
      readonly encryption: 'mTLS' | 'TLS' | 'plaintext';
      readonly tls?: HopTls;
    })
  | (HopBase & {
      readonly kind: 'callee-node';
      readonly workload: string;
      /** Envoy picks the endpoint itself (EDS); without a proxy, kube-proxy's ClusterIP NAT does. */
      readonly endpointChosenBy: 'envoy' | 'kube-proxy';
    })
  | (HopBase & {
      readonly kind: 'iptables-inbound';
      readonly chains: readonly string[];
      readonly redirectPort?: typeof INBOUND_CAPTURE_PORT;
    })
  | (HopBase & {
      readonly kind: 'sidecar-inbound';
      readonly port: number;
      /** The filter chain the connection lands on; undefined when none matches. */
      readonly filterChain?: 'mTLS' | 'plaintext';
      /** The peer principal from the client certificate (mTLS only). */
      readonly principal?: string;
      readonly authorization?: AuthzResult;
    })
  | (HopBase & {
      /** Ambient mode: the caller's node ztunnel, which captured the connection in the pod. */
      readonly kind: 'ztunnel-outbound';
      readonly port: typeof ZTUNNEL_OUTBOUND_PORT;
      /** `namespace/name` of the waypoint it sends to, if any. */
      readonly waypoint?: string;
    })
  | (HopBase & {
      /** An HBONE tunnel (mTLS, HTTP/2 CONNECT on 15008) between ztunnels, a sidecar and a waypoint. */
      readonly kind: 'hbone';
      readonly port: typeof HBONE_PORT;
      /** The identity the tunnel's client certificate carries. */
      readonly principal?: string;
    })
  | (HopBase & {
      /** Ambient mode: the waypoint (an Envoy of its own): L7 routes and `targetRefs` policies. */
      readonly kind: 'waypoint';
      readonly waypoint: string;
      readonly route: RouteDecision;
      readonly authorization?: AuthzResult;
    })
  | (HopBase & {
      /** Ambient mode: the callee's node ztunnel: the tunnel ends, L4 policies. */
      readonly kind: 'ztunnel-inbound';
      readonly port: typeof HBONE_PORT | typeof ZTUNNEL_PLAINTEXT_PORT;
      /** The identity ztunnel sees: the caller's, the waypoint's, or none (plain text). */
      readonly principal?: string;
      readonly authorization?: AuthzResult;
    })
  | (HopBase & {
      readonly kind: 'callee';
      readonly workload: string;
      readonly port?: number;
      /** Source address the app sees. */
      readonly source: string;
    });

export type PathHopKind = PathHop['kind'];

/** How the request ends. */
export interface PathOutcome {
  readonly result:
    | 'delivered'
    | 'refused'
    | 'denied'
    | 'no-route'
    | 'unavailable'
    | 'fault'
    | 'timeout'
    | 'answered-by-proxy'
    | 'left-mesh';
  /** The HTTP status the caller sees; undefined for a connection reset. */
  readonly status?: number;
  /** Envoy's access-log response flags, as the deciding proxy logs them. */
  readonly responseFlags?: string;
  readonly detail: string;
}

export interface RequestPath {
  /** The routing / mTLS / authorization explanation the path is built on. */
  readonly explanation: Explanation;
  readonly hops: readonly PathHop[];
  /** Every sidecar the request skips, and why. */
  readonly bypasses: readonly Bypass[];
  readonly outcome: PathOutcome;
}
