/**
 * Builds the {@link MeshModel} from plain objects: the JSON cdk8s synthesizes, YAML documents, or
 * objects listed from a cluster. Every object is first checked against its schema (./schema/): one
 * that fails is set aside in `invalid` (the validator's MESH001) and nothing else reads it. Unknown
 * kinds are kept as notes; fields the schema leaves open are read defensively, never thrown on.
 */
import type {
  AuthorizationPolicy,
  AuthzAction,
  AuthzRule,
  DeclaredCall,
  Destination,
  DestinationRule,
  Entry,
  EnvoyFilter,
  Gateway,
  GatewayServer,
  InvalidObject,
  HttpRoute,
  KubeObject,
  Labels,
  MeshModel,
  MtlsMode,
  Namespace,
  Origin,
  PeerAuthentication,
  Service,
  ServiceAccount,
  ServiceEntryObj,
  ServicePort,
  Skipped,
  SourcedObject,
  Subset,
  TrafficPolicy,
  UndeployedSubset,
  VirtualService,
  Workload,
} from './types.js';
import { checkObject } from './schema/index.js';

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
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Json => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');
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
  'Telemetry',
  'Sidecar',
  'RequestAuthentication',
  'WorkloadEntry',
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
    skipped: [] as Skipped[],
    invalid: [] as InvalidObject[],
  };
  const known = new Set<string>();
  const pendingWorkloads: { e: Entry; raw: KubeObject }[] = [];

  for (const { object: given, origin = {} } of flattenLists(objects)) {
    const checked = checkObject(given);
    const object = (checked.ok ? checked.object : given) as KubeObject;
    const kind = str(object.kind) ?? '(no kind)';
    const md = obj(object.metadata);
    const name = str(md.name) || '(unnamed)';
    const namespace = kind === 'Namespace' ? name : (str(md.namespace) ?? defaultNs);
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
    if (kind !== 'Namespace') known.add(namespace);
    switch (true) {
      case kind === 'Namespace':
        known.add(name);
        m.namespaces.push({ ...e, kind: 'Namespace' });
        break;
      case kind === 'ServiceAccount':
        m.serviceAccounts.push({ ...e, kind: 'ServiceAccount' });
        break;
      case kind === 'Service' && !istio:
        m.services.push(readService(e, spec, clusterDomain));
        break;
      case WORKLOAD_KINDS.has(kind) && !istio:
        pendingWorkloads.push({ e, raw: object });
        break;
      case istio && kind === 'Gateway':
        m.gateways.push(readGateway(e, spec));
        break;
      case istio && kind === 'VirtualService':
        m.virtualServices.push(readVirtualService(e, spec));
        break;
      case istio && kind === 'DestinationRule':
        m.destinationRules.push(readDestinationRule(e, spec));
        break;
      case istio && kind === 'PeerAuthentication':
        m.peerAuthentications.push(readPeerAuthentication(e, spec));
        break;
      case istio && kind === 'AuthorizationPolicy':
        m.authorizationPolicies.push(readAuthorizationPolicy(e, spec));
        break;
      case istio && kind === 'ServiceEntry':
        m.serviceEntries.push(readServiceEntry(e, spec));
        break;
      case istio && kind === 'EnvoyFilter':
        m.envoyFilters.push(readEnvoyFilter(e, spec));
        break;
      default:
        if (!IGNORED_KINDS.has(kind)) m.skipped.push({ kind, where: e.where });
    }
  }
  const injected = new Map(m.namespaces.map((n) => [n.name, namespaceInjection(n.labels)]));
  for (const { e, raw } of pendingWorkloads)
    m.workloads.push(readWorkload(e, raw, injected.get(e.namespace)));

  return {
    rootNamespace,
    trustDomain: options.trustDomain ?? 'cluster.local',
    clusterDomain,
    calls: options.calls,
    ...(options.undeployedSubsets ? { undeployedSubsets: options.undeployedSubsets } : {}),
    knownNamespaces: known,
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

function readWorkload(e: Entry, raw: KubeObject, nsInjection: Injection | undefined): Workload {
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
  };
}

function readServiceEntry(e: Entry, spec: Json): ServiceEntryObj {
  return {
    ...e,
    kind: 'ServiceEntry',
    hosts: strs(spec.hosts),
    location: str(spec.location) ?? 'MESH_EXTERNAL',
    resolution: str(spec.resolution) ?? 'NONE',
    ports: arr(spec.ports).map((p) => {
      const o = obj(p);
      return { number: num(o.number) ?? 0, name: str(o.name), protocol: str(o.protocol) };
    }),
  };
}

function readEnvoyFilter(e: Entry, spec: Json): EnvoyFilter {
  return {
    ...e,
    kind: 'EnvoyFilter',
    selector: selectorOf(spec, 'workloadSelector'),
    priority: num(spec.priority),
    patches: arr(spec.configPatches).map((p) => ({
      applyTo: str(obj(p).applyTo),
      operation: str(obj(obj(p).patch).operation),
    })),
  };
}
