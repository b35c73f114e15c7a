/**
 * The mesh model: plain Kubernetes and Istio objects, indexed, whatever produced them (constructs,
 * YAML files, a live cluster). The validator and the request simulator read only this.
 */

import type * as gatewayapi from '../../imports/gateway.networking.k8s.io.js';
import type * as networking from '../../imports/networking.istio.io.js';
import type * as security from '../../imports/security.istio.io.js';
import type * as telemetry from '../../imports/telemetry.istio.io.js';

/**
 * The JSON/YAML form of an interface `cdk8s import` generated in `imports/`: enum-typed fields
 * hold their string values, and every field and array is read-only. (Where a generated field name
 * differs from its wire key, the type using it says so and states the wire key.)
 */
export type Wire<T> = 0 extends 1 & T
  ? T
  : T extends string
    ? `${T}`
    : T extends readonly (infer U)[]
      ? readonly Wire<U>[]
      : T extends object
        ? { readonly [K in keyof T]: Wire<T[K]> }
        : T;

/** Where an object came from, for messages: a construct path, `file:kind/name` (with line), or the cluster. */
export interface Origin {
  /** The construct path of the object (construct-built meshes). */
  readonly path?: string;
  /** The file the object was read from (linted YAML). */
  readonly file?: string;
  /** 1-based line of the document in `file`. */
  readonly line?: number;
  /** The context or server the object was listed from (`lint --kubeconfig`). */
  readonly cluster?: string;
}

/** A Kubernetes object as JSON, with where it came from. */
export interface SourcedObject {
  readonly object: KubeObject;
  readonly origin?: Origin;
}

/** The parts of any Kubernetes object the model reads. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  readonly [key: string]: unknown;
}

export type Labels = Readonly<Record<string, string>>;

/** Fields every model entry has. */
export interface Entry {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** Human-readable location: construct path, `file:Kind/name:line`, or `cluster:Kind/ns/name`. */
  readonly where: string;
  readonly origin: Origin;
  /** The object as loaded. */
  readonly raw: KubeObject;
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** Container port number; undefined when it is a named port not resolved. */
  readonly targetPort: number | string;
  readonly protocol: string;
  readonly appProtocol?: string;
}

export interface Service extends Entry {
  readonly kind: 'Service';
  /** `name.namespace.svc.<domain>` */
  readonly fqdn: string;
  readonly selector: Labels | undefined;
  readonly ports: readonly ServicePort[];
  readonly type: string;
}

/** A Deployment, StatefulSet, DaemonSet, ReplicaSet or bare Pod: something with pods. */
export interface Workload extends Entry {
  /** Labels of its pods (the pod template's). */
  readonly podLabels: Labels;
  readonly serviceAccountName: string;
  readonly containerPorts: readonly number[];
  /** Whether its pods get the Envoy sidecar (annotation / label / namespace injection). */
  readonly sidecar: boolean;
  /** Whether ztunnel captures its pods (ambient mode: no sidecar, `istio.io/dataplane-mode: ambient`). */
  readonly ambient: boolean;
  readonly replicas: number;
}

/**
 * An Istio string match (`exact`, `prefix` or `regex`). The generator emits one identical interface
 * per field (`…MatchUri`, `…MatchHeaders`, …); this is the `uri` one.
 */
export type StringMatch = Wire<networking.VirtualServiceSpecHttpMatchUri>;

export type HttpMatchRequest = Wire<networking.VirtualServiceSpecHttpMatch>;

export type Destination = Wire<networking.VirtualServiceSpecHttpRouteDestination>;

export type RouteDestination = Wire<networking.VirtualServiceSpecHttpRoute>;

/** A `tcp` route of a VirtualService: L4 matches (port, sourceLabels, gateways) and weighted destinations. */
export type TcpRoute = Wire<networking.VirtualServiceSpecTcp>;

/** An `http` route of a VirtualService. The generated `mirrorPercent` is `mirror_percent` on the wire. */
export type HttpRoute = Omit<Wire<networking.VirtualServiceSpecHttp>, 'mirrorPercent'> & {
  readonly mirror_percent?: number;
};

/** A VirtualService's `spec` as written. */
export type VirtualServiceSpec = Omit<Wire<networking.VirtualServiceSpec>, 'http'> & {
  readonly http?: readonly HttpRoute[];
};

/** A VirtualService; `hosts`, `gateways` and `http` are read as empty when absent. */
export interface VirtualService
  extends Entry, Required<Pick<VirtualServiceSpec, 'hosts' | 'gateways' | 'http'>> {
  readonly kind: 'VirtualService';
  /** Destinations of `tcp` and `tls` routes (checked for existence only). */
  readonly otherDestinations: readonly { readonly destination: Destination; readonly field: string }[];
  /** `tcp` routes, read as empty when absent. */
  readonly tcp: readonly TcpRoute[];
}

export type TlsMode = `${networking.DestinationRuleSpecTrafficPolicyTlsMode}`;

/** The generated `consecutive5XxErrors` is `consecutive5xxErrors` on the wire. */
export type OutlierDetection = Omit<
  Wire<networking.DestinationRuleSpecTrafficPolicyOutlierDetection>,
  'consecutive5XxErrors'
> & { readonly consecutive5xxErrors?: number };

/**
 * A DestinationRule traffic policy, of the rule, of a subset or of a port (the generator emits a
 * copy of the same shape for each place).
 */
export type TrafficPolicy = Omit<
  Wire<networking.DestinationRuleSpecTrafficPolicy>,
  'outlierDetection' | 'portLevelSettings'
> & {
  readonly outlierDetection?: OutlierDetection;
  readonly portLevelSettings?: readonly (Omit<
    Wire<networking.DestinationRuleSpecTrafficPolicyPortLevelSettings>,
    'outlierDetection'
  > & { readonly outlierDetection?: OutlierDetection })[];
};

/** A subset, its labels read as empty when absent. */
export type Subset = Omit<Wire<networking.DestinationRuleSpecSubsets>, 'labels' | 'trafficPolicy'> & {
  readonly labels: Labels;
  readonly trafficPolicy?: TrafficPolicy;
};

export interface DestinationRule extends Entry, Pick<Wire<networking.DestinationRuleSpec>, 'host'> {
  readonly kind: 'DestinationRule';
  readonly subsets: readonly Subset[];
  readonly trafficPolicy?: TrafficPolicy;
  /** `workloadSelector.matchLabels`. */
  readonly workloadSelector?: Labels;
}

/**
 * A Gateway server as read: the protocol upper-cased, the TLS mode kept as written (the validator
 * judges it), a port without `name` kept without one.
 */
export type GatewayServer = Pick<Wire<networking.GatewaySpecServers>, 'hosts'> & {
  readonly port: Pick<Wire<networking.GatewaySpecServersPort>, 'number' | 'protocol'> &
    Partial<Pick<Wire<networking.GatewaySpecServersPort>, 'name'>>;
  readonly tls?: Pick<
    Wire<networking.GatewaySpecServersTls>,
    'credentialName' | 'httpsRedirect' | 'serverCertificate' | 'privateKey'
  > & {
    readonly mode?: string;
  };
};

/** A Gateway; `selector` is read as empty when absent. */
export interface Gateway extends Entry, Required<Pick<Wire<networking.GatewaySpec>, 'selector'>> {
  readonly kind: 'Gateway';
  readonly servers: readonly GatewayServer[];
}

/** A PeerAuthentication mTLS mode; `UNSET` inherits the mode of the wider scope. */
export type MtlsMode = `${security.PeerAuthenticationSpecMtlsMode}`;

export interface PeerAuthentication extends Entry {
  readonly kind: 'PeerAuthentication';
  readonly selector: Labels | undefined;
  readonly mode: MtlsMode;
  readonly portLevelMtls: Readonly<Record<string, MtlsMode>>;
}

export type AuthzSource = Wire<security.AuthorizationPolicySpecRulesFromSource>;

export type AuthzOperation = Wire<security.AuthorizationPolicySpecRulesToOperation>;

export type AuthzCondition = Wire<security.AuthorizationPolicySpecRulesWhen>;

export type AuthzRule = Wire<security.AuthorizationPolicySpecRules>;

export type AuthzAction = `${security.AuthorizationPolicySpecAction}`;

/** A policy's `targetRefs` entry (ambient: a Service or the waypoint Gateway). */
export interface PolicyTargetRef {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export interface AuthorizationPolicy extends Entry {
  readonly kind: 'AuthorizationPolicy';
  /**
   * `selector.matchLabels`. A policy that targets a Service (`targetRefs`, enforced by its
   * waypoint for requests to it) is read as selecting that Service's pods.
   */
  readonly selector: Labels | undefined;
  /** `targetRefs` as written, when the policy has them. */
  readonly targetRefs?: readonly PolicyTargetRef[];
  readonly action: AuthzAction;
  readonly rules: readonly AuthzRule[];
  /** The CUSTOM provider's name. */
  readonly provider?: string;
}

export interface ServiceEntryObj
  extends Entry, Pick<Wire<networking.ServiceEntrySpec>, 'hosts' | 'addresses'> {
  readonly kind: 'ServiceEntry';
  /** As written (default `MESH_EXTERNAL`). */
  readonly location: string;
  /** As written (default `NONE`). */
  readonly resolution: string;
  /** `name` is kept absent when the object has none. */
  readonly ports: readonly (Omit<Wire<networking.ServiceEntrySpecPorts>, 'name' | 'targetPort'> & {
    readonly name?: string;
  })[];
  /** `workloadSelector.labels`: the Pods and WorkloadEntries it adds as endpoints. */
  readonly workloadSelector?: Labels;
  /** Addresses the control plane allocated (`status.addresses`). */
  readonly allocatedAddresses: readonly string[];
}

/** One `configPatches` entry of an EnvoyFilter, as far as the model reads it. */
export interface EnvoyFilterPatch {
  readonly applyTo?: string;
  readonly operation?: string;
  /** Whether the entry has a `patch` at all (Istio stops reading the list at the first without). */
  readonly hasPatch: boolean;
  /** `match.proxy.proxyVersion`, when set. */
  readonly proxyVersion?: string;
  /**
   * The filter the patch is about, as Istio's analyzer names it: `patch.value.name`, else the
   * listener filter-chain filter it matches; '' when neither.
   */
  readonly filterName: string;
}

export interface EnvoyFilter extends Entry {
  readonly kind: 'EnvoyFilter';
  readonly selector: Labels | undefined;
  readonly priority: number | undefined;
  readonly patches: readonly EnvoyFilterPatch[];
}

/** `ALLOW_ANY` (unknown hosts pass through) or `REGISTRY_ONLY` (unknown hosts answer 502 BlackHoleCluster). */
export type OutboundTrafficPolicyMode = `${networking.SidecarSpecOutboundTrafficPolicyMode}`;

/** A Sidecar: what the selected workloads (the whole namespace when no selector) see outbound. */
export interface Sidecar extends Entry {
  readonly kind: 'Sidecar';
  /** `workloadSelector.labels`; undefined when absent or empty (the namespace default). */
  readonly selector: Labels | undefined;
  /** `egress[].hosts` as written (`namespace/host`, `./host`, `*\/host`). */
  readonly egressHosts: readonly string[];
  /** `outboundTrafficPolicy.mode`, when set (overrides the mesh's). */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicyMode;
}

/** A WorkloadEntry: a VM or other non-Kubernetes endpoint, selected by ServiceEntries' workloadSelector. */
export interface WorkloadEntry extends Entry, Pick<Wire<networking.WorkloadEntrySpec>, 'address'> {
  readonly kind: 'WorkloadEntry';
  /** `spec.labels`: what ServiceEntry workload selectors match. */
  readonly endpointLabels: Labels;
  readonly serviceAccount: string;
  readonly ports: Readonly<Record<string, number>>;
}

/** A Telemetry resource. */
export interface Telemetry extends Entry {
  readonly kind: 'Telemetry';
  /**
   * `selector.matchLabels`; undefined when `selector` is absent (the namespace or mesh default),
   * `{}` when present without labels (then it is neither a default nor a selection, as in Istio).
   */
  readonly selector: Labels | undefined;
  /** `accessLogging` entries: the provider names each names, and whether it disables logging. */
  readonly accessLogging: readonly { readonly providers: readonly string[]; readonly disabled: boolean }[];
}
/** The generated Telemetry spec (for fields the model does not index). */
export type TelemetrySpec = Wire<telemetry.TelemetrySpec>;

/**
 * The parts of Istio's MeshConfig the model reads, from the `istio` ConfigMap of the root
 * namespace (`data.mesh`), or from the authoring layer.
 */
export interface MeshConfig {
  /** @default 'ALLOW_ANY' (Istio's default) */
  readonly outboundTrafficPolicy: OutboundTrafficPolicyMode;
  /** `defaultConfig.proxyMetadata`. */
  readonly proxyMetadata: Labels;
  /** `defaultProviders.accessLogging`: where access logs go when a Telemetry names no provider. */
  readonly defaultAccessLogging: readonly string[];
  /** Where it was read from; undefined when nothing said (Istio's defaults). */
  readonly where?: string;
}

/** One object (same kind, namespace and name) given more than once: the last one is used. */
export interface DuplicateObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Every place it is defined, in input order; the last is the one the model keeps. */
  readonly places: readonly string[];
  /** The entry the model kept (for the finding's object and suppressions). */
  readonly kept: Entry;
}

export interface Namespace extends Entry {
  readonly kind: 'Namespace';
}

export interface ServiceAccount extends Entry {
  readonly kind: 'ServiceAccount';
}

/** A call declared in the authoring layer (`app.calls(other)`), when the model came from constructs. */
export interface DeclaredCall {
  readonly from: { readonly name: string; readonly namespace: string; readonly principal: string };
  readonly to: { readonly name: string; readonly namespace: string };
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
  /**
   * Container ports of the callee the call connects to (what an AuthorizationPolicy's `ports`
   * matches). @default - the Service's first port
   */
  readonly ports?: readonly number[];
}

/**
 * A version the authoring layer declares as a subset without deploying it (`deploy: false`), so a
 * subset without pods is intended, not a typo.
 */
export interface UndeployedSubset {
  readonly namespace: string;
  /** Service (App) name. */
  readonly service: string;
  readonly subset: string;
}

/** A rule of an HTTPRoute, as written (the object passed the CRD schema). */
export type HttpRouteRule = Wire<gatewayapi.HttpRouteSpecRules>;

/** A rule of a GRPCRoute, as written (the object passed the CRD schema). */
export type GrpcRouteRule = Wire<gatewayapi.GrpcRouteSpecRules>;

/** An HTTPRoute or GRPCRoute of the Gateway API. */
export interface GatewayApiRoute extends Entry {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  /** `spec.hostnames`, empty when absent (any host). */
  readonly hostnames: readonly string[];
  /** `metadata.creationTimestamp`, when the object has one (the older route wins a tie). */
  readonly creationTimestamp?: string;
  /** `spec.rules` as written (a GRPCRoute's are {@link GrpcRouteRule}s). */
  readonly rules: readonly (HttpRouteRule | GrpcRouteRule)[];
  readonly parentRefs: readonly {
    readonly group: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace: string;
    readonly port?: number;
  }[];
  /** The Service backends of its rules (and where each is written). */
  readonly backends: readonly {
    readonly name: string;
    readonly namespace: string;
    readonly port?: number;
    readonly field: string;
  }[];
}

/** A Gateway of the Gateway API (an `istio` ingress, an `istio-waypoint` waypoint, …). */
export interface K8sGateway extends Entry {
  readonly kind: 'Gateway';
  readonly gatewayClassName: string;
  /** `spec.listeners`: name, port, protocol and hostname. */
  readonly listeners: readonly Pick<
    Wire<gatewayapi.GatewaySpecListeners>,
    'name' | 'port' | 'protocol' | 'hostname'
  >[];
  /** The listeners' `tls.certificateRefs` (a Secret unless the ref says otherwise). */
  readonly certificateRefs: readonly CrossNamespaceRef[];
}

/** A reference from one namespace to an object in another, which a ReferenceGrant must allow. */
export interface CrossNamespaceRef {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** Where the referring object names it: `listeners[0].tls.certificateRefs[0]`. */
  readonly field: string;
}

/**
 * A ReferenceGrant: which kinds of which other namespaces may refer to which objects (all of a
 * kind, or the one named) in its own namespace.
 */
export interface ReferenceGrant extends Entry {
  readonly from: readonly { readonly group: string; readonly kind: string; readonly namespace: string }[];
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
}

/** A Gateway API CRD in the input, with the bundle version it states. */
export interface GatewayApiCrd extends Entry {
  readonly version: string;
}

/** An object the loader did not use (unknown kind), reported as a note. */
export interface Skipped {
  readonly kind: string;
  readonly where: string;
}

/** The whole mesh, indexed. */
/** An object that does not fit its schema, with what is wrong (`spec.http[0].route[0].destination.host: must be string (got 5)`). */
export interface InvalidObject extends Entry {
  readonly problems: readonly string[];
}

export interface MeshModel {
  /** Istio's root namespace: mesh-wide policies live there. @default 'istio-system' */
  readonly rootNamespace: string;
  readonly trustDomain: string;
  /** DNS domain of Services. */
  readonly clusterDomain: string;
  readonly namespaces: readonly Namespace[];
  readonly services: readonly Service[];
  readonly workloads: readonly Workload[];
  readonly serviceAccounts: readonly ServiceAccount[];
  readonly gateways: readonly Gateway[];
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  readonly serviceEntries: readonly ServiceEntryObj[];
  readonly envoyFilters: readonly EnvoyFilter[];
  readonly sidecars: readonly Sidecar[];
  readonly workloadEntries: readonly WorkloadEntry[];
  readonly telemetries: readonly Telemetry[];
  /** The mesh-wide settings (Istio's defaults when the inputs say nothing). */
  readonly meshConfig: MeshConfig;
  /** Objects defined more than once in the inputs. */
  readonly duplicates: readonly DuplicateObject[];
  /** HTTPRoutes and GRPCRoutes. */
  readonly gatewayApiRoutes: readonly GatewayApiRoute[];
  /** Gateways of the Gateway API. */
  readonly k8sGateways: readonly K8sGateway[];
  /** Gateway API CRDs present in the input. */
  readonly gatewayApiCrds: readonly GatewayApiCrd[];
  /** ReferenceGrants (what other namespaces may refer to in theirs). */
  readonly referenceGrants: readonly ReferenceGrant[];
  /** Declared calls (construct-built meshes only); undefined when unknown. */
  readonly calls: readonly DeclaredCall[] | undefined;
  /** Subsets declared on purpose without pods (construct-built meshes only). */
  readonly undeployedSubsets?: readonly UndeployedSubset[];
  readonly skipped: readonly Skipped[];
  /** Objects that do not fit their schema (or Istio's validation): left out of everything above. */
  readonly invalid: readonly InvalidObject[];
  /** Namespaces that have at least one object in the model (or a Namespace object). */
  readonly knownNamespaces: ReadonlySet<string>;
}
