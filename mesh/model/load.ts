/**
 * Builds the {@link MeshModel} from plain objects: the JSON cdk8s synthesizes, YAML documents, or
 * objects listed from a cluster. Every object is first checked against its schema (./schema/): one
 * that fails is set aside in `invalid` (the validator's MESH001) and nothing else reads it. Unknown
 * kinds are kept as notes; fields the schema leaves open are read defensively, never thrown on.
 */
import {
  capturedByZtunnel,
  GATEWAY_API_GROUP,
  gatewayApiCrdVersion,
  readGatewayApiRoute,
  readK8sGateway,
  readReferenceGrant,
  readTargetRefs,
} from './gateway-api.js';
import type {
  AuthorizationPolicy,
  GatewayApiCrd,
  GatewayApiRoute,
  K8sGateway,
  ReferenceGrant,
  AuthzAction,
  AuthzRule,
  DeclaredCall,
  Destination,
  DuplicateObject,
  DestinationRule,
  Entry,
  EnvoyFilter,
  EnvoyFilterPatch,
  Gateway,
  GatewayServer,
  InvalidObject,
  HttpRoute,
  KubeObject,
  Labels,
  MeshConfig,
  MeshModel,
  MtlsMode,
  OutboundTrafficPolicyMode,
  Namespace,
  Origin,
  PeerAuthentication,
  Service,
  ServiceAccount,
  ServiceEntryObj,
  ServicePort,
  Sidecar,
  Skipped,
  SourcedObject,
  Subset,
  TcpRoute,
  Telemetry,
  TrafficPolicy,
  UndeployedSubset,
  VirtualService,
  Workload,
  WorkloadEntry,
} from './types.js';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { checkObject } from './schema/index.js';
import { withOwnedRoutes } from './owned-routes.js';
import { arr, isObj, num, obj, str, strs, type Json } from './json.js';

export interface ModelOptions {
  /** Istio's root namespace. @default 'istio-system' */
  readonly rootNamespace?: string;
  /** Trust domain of SPIFFE principals. @default 'cluster.local' */
  readonly trustDomain?: string;
  /** DNS domain of Services. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Namespace of objects that have none (like `kubectl apply` without `-n`). @default 'default' */
  readonly defaultNamespace?: string;
  /** Declared calls (from the authoring layer). @default - unknown */
  readonly calls?: readonly DeclaredCall[];
  /** Subsets declared on purpose without pods (from the authoring layer). @default - none known */
  readonly undeployedSubsets?: readonly UndeployedSubset[];
  /**
   * The mesh's outbound traffic policy when the inputs do not say (the authoring layer knows it);
   * an `istio` ConfigMap of the root namespace among the inputs wins.
   * @default 'ALLOW_ANY'
   */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicyMode;
}

function labels(v: unknown): Labels {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** `file:Kind/name:line`, the construct path, or `cluster:Kind/ns/name`. */
export function describeOrigin(origin: Origin, kind: string, namespace: string, name: string): string {
  if (origin.path) return origin.path;
  if (origin.file) return `${origin.file}:${kind}/${name}${origin.line ? `:${origin.line}` : ''}`;
  if (origin.cluster) return `${origin.cluster}:${kind}/${namespace}/${name}`;
  return `${kind}/${namespace}/${name}`;
}

const WORKLOAD_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Pod',
  'Job',
  'CronJob',
]);
const IGNORED_KINDS = new Set([
  'ConfigMap',
  'Secret',
  'Certificate',
  'Issuer',
  'ClusterIssuer',
  'RequestAuthentication',
  'WorkloadGroup',
  'ProxyConfig',
  'WasmPlugin',
  'CanaryRelease',
  'CustomResourceDefinition',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
]);

/**
 * One object per API group, kind, namespace and name: a later definition replaces the earlier one
 * (as `kubectl apply` of both would), and every place is kept for the finding.
 */
class Registry {
  private readonly seen = new Map<string, { list: unknown[]; at: number; places: string[] }>();
  private readonly twice = new Set<string>();

  keep<T extends { e: Entry } | Entry>(list: T[], key: string, item: T, where: string): void {
    const before = this.seen.get(key);
    if (!before) {
      this.seen.set(key, { list, at: list.push(item) - 1, places: [where] });
      return;
    }
    before.places.push(where);
    this.twice.add(key);
    list[before.at] = item;
  }

  /** The objects defined more than once, each with the entry that was kept. */
  duplicates(entryOf: (item: unknown) => Entry): DuplicateObject[] {
    return [...this.twice].map((key) => {
      const s = this.seen.get(key)!;
      const kept = entryOf(s.list[s.at]);
      return { kind: kept.kind, namespace: kept.namespace, name: kept.name, places: s.places, kept };
    });
  }
}

/** Builds the model. Objects of kinds the model does not use are listed in `skipped`. */
export function buildModel(objects: readonly SourcedObject[], options: ModelOptions = {}): MeshModel {
  const rootNamespace = options.rootNamespace ?? 'istio-system';
  const defaultNs = options.defaultNamespace ?? 'default';
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  const m = {
    namespaces: [] as Namespace[],
    services: [] as Service[],
    workloads: [] as Workload[],
    serviceAccounts: [] as ServiceAccount[],
    gateways: [] as Gateway[],
    virtualServices: [] as VirtualService[],
    destinationRules: [] as DestinationRule[],
    peerAuthentications: [] as PeerAuthentication[],
    authorizationPolicies: [] as AuthorizationPolicy[],
    serviceEntries: [] as ServiceEntryObj[],
    envoyFilters: [] as EnvoyFilter[],
    sidecars: [] as Sidecar[],
    workloadEntries: [] as WorkloadEntry[],
    telemetries: [] as Telemetry[],
    gatewayApiRoutes: [] as GatewayApiRoute[],
    k8sGateways: [] as K8sGateway[],
    gatewayApiCrds: [] as GatewayApiCrd[],
    referenceGrants: [] as ReferenceGrant[],
    skipped: [] as Skipped[],
    invalid: [] as InvalidObject[],
  };
  const known = new Set<string>();
  const pendingWorkloads: { e: Entry; raw: KubeObject }[] = [];
  const registry = new Registry();
  let meshConfig: MeshConfig | undefined;

  for (const { object: given, origin = {} } of withOwnedRoutes(flattenLists(objects), defaultNs)) {
    const checked = checkObject(given);
    const object = (checked.ok ? checked.object : given) as KubeObject;
    const kind = str(object.kind) || '(no kind)';
    const md = obj(object.metadata);
    const name = str(md.name) || '(unnamed)';
    const namespace = kind === 'Namespace' ? name : str(md.namespace) || defaultNs;
    const e: Entry = {
      kind,
      name,
      namespace,
      labels: labels(md.labels),
      annotations: labels(md.annotations),
      where: describeOrigin(origin, kind, namespace, name),
      origin,
      raw: object,
    };
    if (!checked.ok) {
      m.invalid.push({ ...e, problems: checked.problems });
      continue;
    }
    const spec = obj(object.spec);
    const group = (str(object.apiVersion) ?? '').split('/')[0]!;
    const istio = group.endsWith('istio.io');
    const keep = <T extends Entry>(list: T[], entry: T) =>
      registry.keep(list, `${istio ? group : ''}/${kind}/${namespace}/${name}`, entry, e.where);
    if (kind !== 'Namespace') known.add(namespace);
    switch (true) {
      case kind === 'Namespace':
        known.add(name);
        keep(m.namespaces, { ...e, kind: 'Namespace' });
        break;
      case kind === 'ServiceAccount':
        keep(m.serviceAccounts, { ...e, kind: 'ServiceAccount' });
        break;
      case kind === 'Service' && !istio:
        keep(m.services, readService(e, spec, clusterDomain));
        break;
      case WORKLOAD_KINDS.has(kind) && !istio:
        registry.keep(pendingWorkloads, `/${kind}/${namespace}/${name}`, { e, raw: object }, e.where);
        break;
      case kind === 'ConfigMap' && !istio && namespace === rootNamespace && name === 'istio':
        meshConfig = readMeshConfig(e, obj(object.data)) ?? meshConfig;
        break;
      case istio && kind === 'Gateway':
        keep(m.gateways, readGateway(e, spec));
        break;
      case istio && kind === 'VirtualService':
        keep(m.virtualServices, readVirtualService(e, spec));
        break;
      case istio && kind === 'DestinationRule':
        keep(m.destinationRules, readDestinationRule(e, spec));
        break;
      case istio && kind === 'PeerAuthentication':
        keep(m.peerAuthentications, readPeerAuthentication(e, spec));
        break;
      case istio && kind === 'AuthorizationPolicy':
        keep(m.authorizationPolicies, readAuthorizationPolicy(e, spec));
        break;
      case istio && kind === 'ServiceEntry':
        keep(m.serviceEntries, readServiceEntry(e, spec, obj(object.status)));
        break;
      case istio && kind === 'EnvoyFilter':
        keep(m.envoyFilters, readEnvoyFilter(e, spec));
        break;
      case istio && kind === 'Sidecar':
        keep(m.sidecars, readSidecar(e, spec));
        break;
      case istio && kind === 'WorkloadEntry':
        keep(m.workloadEntries, readWorkloadEntry(e, spec));
        break;
      case istio && kind === 'Telemetry':
        keep(m.telemetries, readTelemetry(e, spec));
        break;
      case group === GATEWAY_API_GROUP && (kind === 'HTTPRoute' || kind === 'GRPCRoute'):
        m.gatewayApiRoutes.push(readGatewayApiRoute(e, spec));
        break;
      case group === GATEWAY_API_GROUP && kind === 'Gateway':
        m.k8sGateways.push(readK8sGateway(e, spec));
        break;
      case group === GATEWAY_API_GROUP && kind === 'ReferenceGrant':
        m.referenceGrants.push(readReferenceGrant(e, spec));
        break;
      case kind === 'CustomResourceDefinition' && gatewayApiCrdVersion(object) !== undefined:
        m.gatewayApiCrds.push({ ...e, version: gatewayApiCrdVersion(object)! });
        break;
      default:
        if (!IGNORED_KINDS.has(kind)) m.skipped.push({ kind, where: e.where });
    }
  }
  const injected = new Map(m.namespaces.map((n) => [n.name, namespaceInjection(n.labels)]));
  const nsLabels = new Map(m.namespaces.map((n) => [n.name, n.labels]));
  const workloadOf = new Map<Entry, Workload>();
  for (const { e, raw } of pendingWorkloads) {
    const read = readWorkload(e, raw, injected.get(e.namespace));
    const w = {
      ...read,
      ambient: capturedByZtunnel(nsLabels.get(e.namespace), read.podLabels, read.sidecar),
    };
    workloadOf.set(e, w);
    m.workloads.push(w);
  }
  // A policy targeting a Service applies (at its waypoint) to requests to that Service's pods.
  const services = new Map(m.services.map((svc) => [`${svc.namespace}/${svc.name}`, svc]));
  m.authorizationPolicies = m.authorizationPolicies.map((p) => {
    const svc = p.targetRefs?.find((r) => r.kind === 'Service' && r.group === '');
    const target = svc && services.get(`${p.namespace}/${svc.name}`);
    return target?.selector ? { ...p, selector: target.selector } : p;
  });

  return {
    rootNamespace,
    trustDomain: options.trustDomain ?? 'cluster.local',
    clusterDomain,
    calls: options.calls,
    ...(options.undeployedSubsets ? { undeployedSubsets: options.undeployedSubsets } : {}),
    knownNamespaces: known,
    meshConfig: meshConfig ?? defaultMeshConfig(options.outboundTrafficPolicy),
    duplicates: registry.duplicates((item) => {
      const it = item as Entry | { e: Entry };
      return 'e' in it ? workloadOf.get(it.e)! : it;
    }),
    ...m,
  };
}

/**
 * The objects with every List (`kind: List`, as `kubectl get -o yaml` writes) replaced by its items,
 * Lists in Lists included, without recursion: any number of items, any nesting. Non-objects are dropped
 * (the YAML and JSON readers report them).
 */
function flattenLists(objects: readonly SourcedObject[]): { object: Json; origin?: Origin | undefined }[] {
  const out: { object: Json; origin?: Origin | undefined }[] = [];
  const stack: { object: unknown; origin?: Origin | undefined }[] = [];
  for (let i = objects.length - 1; i >= 0; i--) stack.push(objects[i]!);
  while (stack.length) {
    const { object, origin } = stack.pop()!;
    if (!isObj(object)) continue;
    if (object.kind === 'List' && Array.isArray(object.items)) {
      for (let i = object.items.length - 1; i >= 0; i--) stack.push({ object: object.items[i], origin });
      continue;
    }
    out.push({ object, origin });
  }
  return out;
}

function defaultMeshConfig(outbound: OutboundTrafficPolicyMode | undefined): MeshConfig {
  return {
    outboundTrafficPolicy: outbound ?? 'ALLOW_ANY',
    proxyMetadata: {},
    defaultAccessLogging: [],
  };
}

/** The `mesh` key of Istio's ConfigMap; YAML that cannot be read leaves Istio's defaults. */
function readMeshConfig(e: Entry, data: Json): MeshConfig | undefined {
  const text = str(data.mesh);
  if (text === undefined) return undefined;
  let mc: Json;
  try {
    mc = obj(loadYaml(text, { schema: CORE_SCHEMA }));
  } catch {
    return undefined;
  }
  return {
    outboundTrafficPolicy:
      str(obj(mc.outboundTrafficPolicy).mode) === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY',
    proxyMetadata: labels(obj(mc.defaultConfig).proxyMetadata),
    defaultAccessLogging: strs(obj(mc.defaultProviders).accessLogging),
    where: e.where,
  };
}

/**
 * How Istio's sidecar injector treats a namespace (its two webhooks' selectors): `namespace`
 * injects every pod that does not opt out (`istio-injection: enabled`, or an `istio.io/rev`
 * label without `istio-injection`); `pod` injects only pods labelled
 * `sidecar.istio.io/inject: "true"` (no label on the namespace); `off` injects nothing (any other
 * `istio-injection` value, `disabled` included, even for a pod that asks).
 */
export type Injection = 'namespace' | 'pod' | 'off';

export function namespaceInjection(l: Labels): Injection {
  const label = l['istio-injection'];
  if (label === 'enabled') return 'namespace';
  if (label !== undefined) return 'off';
  return l['istio.io/rev'] !== undefined ? 'namespace' : 'pod';
}

function readService(e: Entry, spec: Json, domain: string): Service {
  const ports: ServicePort[] = arr(spec.ports).map((p) => {
    const o = obj(p);
    const port = num(o.port) ?? 0;
    return {
      name: str(o.name) ?? '',
      port,
      targetPort: num(o.targetPort) ?? str(o.targetPort) ?? port,
      protocol: str(o.protocol) ?? 'TCP',
      ...(str(o.appProtocol) ? { appProtocol: str(o.appProtocol) } : {}),
    };
  });
  return {
    ...e,
    kind: 'Service',
    fqdn: `${e.name}.${e.namespace}.svc.${domain}`,
    selector: isObj(spec.selector) ? labels(spec.selector) : undefined,
    ports,
    type: str(spec.type) ?? 'ClusterIP',
  };
}

function readWorkload(
  e: Entry,
  raw: KubeObject,
  nsInjection: Injection | undefined,
): Omit<Workload, 'ambient'> {
  const spec = obj(raw.spec);
  let template: Json;
  let replicas = 1;
  if (e.kind === 'Pod') template = raw as Json;
  else if (e.kind === 'CronJob') template = obj(obj(obj(obj(spec.jobTemplate).spec).template));
  else {
    template = obj(spec.template);
    replicas = num(spec.replicas) ?? 1;
  }
  const podMd = obj(template.metadata);
  const podSpec = obj(template.spec);
  const podLabels = labels(podMd.labels);
  const ann = labels(podMd.annotations);
  // Without a Namespace object in the model, assume the namespace is injected (the usual mesh).
  const sidecar =
    (nsInjection ?? 'namespace') === 'namespace'
      ? (podLabels['sidecar.istio.io/inject'] ?? ann['sidecar.istio.io/inject']) !== 'false'
      : nsInjection === 'pod' && podLabels['sidecar.istio.io/inject'] === 'true';
  const containerPorts = arr(podSpec.containers).flatMap((c) =>
    arr(obj(c).ports)
      .map((p) => num(obj(p).containerPort))
      .filter((n): n is number => n !== undefined),
  );
  return {
    ...e,
    podLabels,
    serviceAccountName: str(podSpec.serviceAccountName) ?? str(podSpec.serviceAccount) ?? 'default',
    containerPorts,
    sidecar,
    replicas,
  };
}

function readGateway(e: Entry, spec: Json): Gateway {
  const servers: GatewayServer[] = arr(spec.servers).map((s) => {
    const o = obj(s);
    const port = obj(o.port);
    const tls = isObj(o.tls) ? o.tls : undefined;
    return {
      port: {
        number: num(port.number) ?? 0,
        name: str(port.name),
        protocol: (str(port.protocol) ?? 'HTTP').toUpperCase(),
      },
      hosts: strs(o.hosts),
      ...(tls
        ? {
            tls: {
              mode: str(tls.mode),
              credentialName: str(tls.credentialName),
              httpsRedirect: tls.httpsRedirect === true,
              ...(str(tls.serverCertificate) ? { serverCertificate: str(tls.serverCertificate) } : {}),
              ...(str(tls.privateKey) ? { privateKey: str(tls.privateKey) } : {}),
            },
          }
        : {}),
    };
  });
  return { ...e, kind: 'Gateway', selector: labels(spec.selector), servers };
}

function readVirtualService(e: Entry, spec: Json): VirtualService {
  const other: { destination: Destination; field: string }[] = [];
  for (const field of ['tcp', 'tls'] as const) {
    arr(spec[field]).forEach((r, i) =>
      arr(obj(r).route).forEach((d, j) => {
        const dest = obj(obj(d).destination);
        if (str(dest.host)) {
          other.push({
            destination: dest as unknown as Destination,
            field: `${field}[${i}].route[${j}]`,
          });
        }
      }),
    );
  }
  return {
    ...e,
    kind: 'VirtualService',
    hosts: strs(spec.hosts),
    gateways: strs(spec.gateways),
    http: arr(spec.http).map((r) => obj(r) as HttpRoute),
    tcp: arr(spec.tcp).map((r) => obj(r) as TcpRoute),
    otherDestinations: other,
  };
}

function readTrafficPolicy(v: unknown): TrafficPolicy | undefined {
  return isObj(v) ? (v as TrafficPolicy) : undefined;
}

function readDestinationRule(e: Entry, spec: Json): DestinationRule {
  const subsets: Subset[] = arr(spec.subsets).map((s) => {
    const o = obj(s);
    const tp = readTrafficPolicy(o.trafficPolicy);
    return { name: str(o.name) ?? '', labels: labels(o.labels), ...(tp ? { trafficPolicy: tp } : {}) };
  });
  const tp = readTrafficPolicy(spec.trafficPolicy);
  const ws = isObj(spec.workloadSelector) ? labels(obj(spec.workloadSelector).matchLabels) : undefined;
  return {
    ...e,
    kind: 'DestinationRule',
    host: str(spec.host) ?? '',
    subsets,
    ...(tp ? { trafficPolicy: tp } : {}),
    ...(ws ? { workloadSelector: ws } : {}),
  };
}

const MODES = new Set(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);
const mode = (v: unknown): MtlsMode => {
  const s = str(obj(v).mode);
  return s && MODES.has(s) ? (s as MtlsMode) : 'UNSET';
};

function selectorOf(spec: Json, field = 'selector'): Labels | undefined {
  const s = spec[field];
  if (!isObj(s)) return undefined;
  const l = labels(s.matchLabels ?? s.labels);
  return Object.keys(l).length ? l : undefined;
}

function readPeerAuthentication(e: Entry, spec: Json): PeerAuthentication {
  const portLevel: Record<string, MtlsMode> = {};
  for (const [port, v] of Object.entries(obj(spec.portLevelMtls))) portLevel[port] = mode(v);
  return {
    ...e,
    kind: 'PeerAuthentication',
    selector: selectorOf(spec),
    mode: mode(spec.mtls),
    portLevelMtls: portLevel,
  };
}

const ACTIONS = new Set(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);

function readAuthorizationPolicy(e: Entry, spec: Json): AuthorizationPolicy {
  const action = str(spec.action) ?? 'ALLOW';
  return {
    ...e,
    kind: 'AuthorizationPolicy',
    selector: selectorOf(spec),
    action: (ACTIONS.has(action) ? action : 'ALLOW') as AuthzAction,
    rules: arr(spec.rules).map((r) => obj(r) as AuthzRule),
    ...(str(obj(spec.provider).name) ? { provider: str(obj(spec.provider).name) } : {}),
    ...(readTargetRefs(spec) ? { targetRefs: readTargetRefs(spec) } : {}),
  };
}

function readServiceEntry(e: Entry, spec: Json, status: Json): ServiceEntryObj {
  const ws = isObj(spec.workloadSelector) ? labels(obj(spec.workloadSelector).labels) : undefined;
  return {
    ...e,
    kind: 'ServiceEntry',
    hosts: strs(spec.hosts),
    ...(Array.isArray(spec.addresses) ? { addresses: strs(spec.addresses) } : {}),
    location: str(spec.location) ?? 'MESH_EXTERNAL',
    resolution: str(spec.resolution) ?? 'NONE',
    ports: arr(spec.ports).map((p) => {
      const o = obj(p);
      return { number: num(o.number) ?? 0, name: str(o.name), protocol: str(o.protocol) };
    }),
    ...(ws ? { workloadSelector: ws } : {}),
    allocatedAddresses: arr(status.addresses)
      .map((a) => str(obj(a).value))
      .filter((a): a is string => !!a),
  };
}

function readEnvoyFilter(e: Entry, spec: Json): EnvoyFilter {
  const patches: EnvoyFilterPatch[] = arr(spec.configPatches).map((p) => {
    const o = obj(p);
    const patch = isObj(o.patch) ? o.patch : undefined;
    const match = obj(o.match);
    const proxyVersion = str(obj(match.proxy).proxyVersion);
    const valueName = str(obj(patch?.value).name);
    const chainFilter = str(obj(obj(obj(match.listener).filterChain).filter).name);
    return {
      applyTo: str(o.applyTo),
      operation: str(patch?.operation),
      hasPatch: patch !== undefined,
      ...(proxyVersion ? { proxyVersion } : {}),
      filterName: valueName ?? (isObj(patch?.value) ? (chainFilter ?? '') : ''),
    };
  });
  const priority = num(spec.priority);
  return {
    ...e,
    kind: 'EnvoyFilter',
    selector: selectorOf(spec, 'workloadSelector'),
    priority,
    patches,
  };
}

const OUTBOUND = new Set(['ALLOW_ANY', 'REGISTRY_ONLY']);

function readSidecar(e: Entry, spec: Json): Sidecar {
  const mode = str(obj(spec.outboundTrafficPolicy).mode);
  return {
    ...e,
    kind: 'Sidecar',
    selector: selectorOf(spec, 'workloadSelector'),
    egressHosts: arr(spec.egress).flatMap((x) => strs(obj(x).hosts)),
    ...(mode && OUTBOUND.has(mode) ? { outboundTrafficPolicy: mode as OutboundTrafficPolicyMode } : {}),
  };
}

function readWorkloadEntry(e: Entry, spec: Json): WorkloadEntry {
  const ports: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(spec.ports))) if (num(v) !== undefined) ports[k] = num(v)!;
  return {
    ...e,
    kind: 'WorkloadEntry',
    ...(str(spec.address) ? { address: str(spec.address) } : {}),
    endpointLabels: labels(spec.labels),
    serviceAccount: str(spec.serviceAccount) ?? 'default',
    ports,
  };
}

function readTelemetry(e: Entry, spec: Json): Telemetry {
  return {
    ...e,
    kind: 'Telemetry',
    selector: isObj(spec.selector) ? labels(obj(spec.selector).matchLabels) : undefined,
    accessLogging: arr(spec.accessLogging).map((x) => ({
      providers: arr(obj(x).providers)
        .map((p) => str(obj(p).name))
        .filter((n): n is string => !!n),
      disabled: obj(x).disabled === true,
    })),
  };
}
