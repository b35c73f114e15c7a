/**
 * The mesh model: plain Kubernetes and Istio objects, indexed, whatever produced them (constructs,
 * YAML files, a live cluster). The validator and the request simulator read only this.
 */

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
  readonly replicas: number;
}

export type StringMatch =
  { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

export interface HttpMatchRequest {
  readonly name?: string;
  readonly uri?: StringMatch;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers?: Readonly<Record<string, StringMatch | Record<string, never>>>;
  readonly withoutHeaders?: Readonly<Record<string, StringMatch | Record<string, never>>>;
  readonly queryParams?: Readonly<Record<string, StringMatch | Record<string, never>>>;
  readonly port?: number;
  readonly sourceLabels?: Labels;
  readonly sourceNamespace?: string;
  readonly gateways?: readonly string[];
  readonly ignoreUriCase?: boolean;
}

export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}

export interface RouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
}

export interface Percent {
  readonly value?: number;
}

export interface HttpRoute {
  readonly name?: string;
  readonly match?: readonly HttpMatchRequest[];
  readonly route?: readonly RouteDestination[];
  readonly redirect?: Record<string, unknown>;
  readonly directResponse?: { readonly status: number };
  readonly delegate?: { readonly name: string; readonly namespace?: string };
  readonly fault?: {
    readonly delay?: {
      readonly fixedDelay?: string;
      readonly percentage?: Percent;
      readonly percent?: number;
    };
    readonly abort?: {
      readonly httpStatus?: number;
      readonly grpcStatus?: string;
      readonly percentage?: Percent;
    };
  };
  readonly timeout?: string;
  readonly retries?: {
    readonly attempts?: number;
    readonly perTryTimeout?: string;
    readonly retryOn?: string;
  };
  readonly mirror?: Destination;
  readonly mirrorPercentage?: Percent;
}

export interface VirtualService extends Entry {
  readonly kind: 'VirtualService';
  /** Hosts as written. */
  readonly hosts: readonly string[];
  /** Gateways as written (`mesh` when empty). */
  readonly gateways: readonly string[];
  readonly http: readonly HttpRoute[];
  /** Destinations of `tcp` and `tls` routes (checked for existence only). */
  readonly otherDestinations: readonly { readonly destination: Destination; readonly field: string }[];
}

export type TlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface TrafficPolicy {
  readonly tls?: { readonly mode?: TlsMode };
  readonly portLevelSettings?: readonly {
    readonly port?: { readonly number?: number };
    readonly tls?: { readonly mode?: TlsMode };
  }[];
  readonly [key: string]: unknown;
}

export interface Subset {
  readonly name: string;
  readonly labels: Labels;
  readonly trafficPolicy?: TrafficPolicy;
}

export interface DestinationRule extends Entry {
  readonly kind: 'DestinationRule';
  readonly host: string;
  readonly subsets: readonly Subset[];
  readonly trafficPolicy?: TrafficPolicy;
  readonly workloadSelector?: Labels;
}

export interface GatewayServer {
  readonly port: { readonly number: number; readonly name?: string; readonly protocol: string };
  readonly hosts: readonly string[];
  readonly tls?: {
    readonly mode?: string;
    readonly credentialName?: string;
    readonly httpsRedirect?: boolean;
  };
}

export interface Gateway extends Entry {
  readonly kind: 'Gateway';
  readonly selector: Labels;
  readonly servers: readonly GatewayServer[];
}

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthentication extends Entry {
  readonly kind: 'PeerAuthentication';
  readonly selector: Labels | undefined;
  readonly mode: MtlsMode;
  readonly portLevelMtls: Readonly<Record<string, MtlsMode>>;
}

export interface AuthzSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface AuthzOperation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface AuthzCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface AuthzRule {
  readonly from?: readonly { readonly source?: AuthzSource }[];
  readonly to?: readonly { readonly operation?: AuthzOperation }[];
  readonly when?: readonly AuthzCondition[];
}

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationPolicy extends Entry {
  readonly kind: 'AuthorizationPolicy';
  readonly selector: Labels | undefined;
  readonly action: AuthzAction;
  readonly rules: readonly AuthzRule[];
  /** The CUSTOM provider's name. */
  readonly provider?: string;
}

export interface ServiceEntryObj extends Entry {
  readonly kind: 'ServiceEntry';
  readonly hosts: readonly string[];
  readonly location: string;
  readonly resolution: string;
  readonly ports: readonly { readonly number: number; readonly name?: string; readonly protocol?: string }[];
}

export interface EnvoyFilter extends Entry {
  readonly kind: 'EnvoyFilter';
  readonly selector: Labels | undefined;
  readonly priority: number | undefined;
  readonly patches: readonly { readonly applyTo?: string; readonly operation?: string }[];
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

/** An object the loader did not use (unknown kind), reported as a note. */
export interface Skipped {
  readonly kind: string;
  readonly where: string;
}

/** The whole mesh, indexed. */
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
  /** Declared calls (construct-built meshes only); undefined when unknown. */
  readonly calls: readonly DeclaredCall[] | undefined;
  /** Subsets declared on purpose without pods (construct-built meshes only). */
  readonly undeployedSubsets?: readonly UndeployedSubset[];
  readonly skipped: readonly Skipped[];
  /** Namespaces that have at least one object in the model (or a Namespace object). */
  readonly knownNamespaces: ReadonlySet<string>;
}
