/**
 * Questions every consumer of the model asks: host names, label selection, which Service or
 * ServiceEntry a host is, which DestinationRule applies, the effective mTLS mode of a workload.
 * Follows Istio's resolution rules; indexes are built once per model.
 */
import type {
  AuthorizationPolicy,
  DestinationRule,
  Labels,
  MeshModel,
  MtlsMode,
  OutboundTrafficPolicyMode,
  PeerAuthentication,
  Service,
  ServiceEntryObj,
  Sidecar,
  VirtualService,
  Workload,
} from './types.js';

/**
 * Istio's short-name resolution: a host without a dot is `<host>.<namespace>.svc.<domain>`;
 * anything else (FQDN, wildcard, `reviews.default`) is taken as written.
 */
export function resolveHost(host: string, namespace: string, domain = 'cluster.local'): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.svc.${domain}`;
}

/** Whether `pattern` (`*`, `*.example.com`, or a name) covers `host` (which may itself be a wildcard). */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return host.endsWith(suffix) && host.length > suffix.length;
  }
  return false;
}

/** Whether two host patterns share at least one host. */
export function hostsOverlap(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** Whether every label of `selector` is on `labels` (an empty selector selects everything). */
export function selects(selector: Labels | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

export interface ModelIndex {
  readonly servicesByFqdn: ReadonlyMap<string, Service>;
  readonly workloadsByNs: ReadonlyMap<string, readonly Workload[]>;
  readonly destinationRulesByFqdn: ReadonlyMap<string, readonly DestinationRule[]>;
  readonly peerAuthByNs: ReadonlyMap<string, readonly PeerAuthentication[]>;
  readonly authzByNs: ReadonlyMap<string, readonly AuthorizationPolicy[]>;
  readonly serviceAccounts: ReadonlySet<string>;
  /** DestinationRules whose host is a wildcard. */
  readonly wildcardDestinationRules: readonly DestinationRule[];
  /** VirtualServices by resolved host; wildcard hosts under `*`. */
  readonly virtualServicesByHost: ReadonlyMap<string, readonly VirtualService[]>;
  /** The Services that select each workload. */
  readonly servicesOfWorkload: ReadonlyMap<Workload, readonly Service[]>;
  /** Workloads by one pod label, `namespace\0key=value` (and `\0key=value` for every namespace). */
  readonly workloadsByLabel: ReadonlyMap<string, readonly Workload[]>;
  /** Workloads by `namespace/serviceAccount`. */
  readonly workloadsByServiceAccount: ReadonlyMap<string, readonly Workload[]>;
  /** Per namespace, AuthorizationPolicies without a selector and those with one, by one of its labels. */
  readonly authzByNsLabel: ReadonlyMap<string, PolicyBuckets>;
  /** Position of each AuthorizationPolicy in the model, to keep Istio's (and the model's) order. */
  readonly authzOrder: ReadonlyMap<AuthorizationPolicy, number>;
}

/** AuthorizationPolicies of one namespace, bucketed so a workload finds its own without scanning all. */
export interface PolicyBuckets {
  readonly unselected: readonly AuthorizationPolicy[];
  /** Selected policies under the first label (`key=value`) of their selector. */
  readonly byLabel: ReadonlyMap<string, readonly AuthorizationPolicy[]>;
}

const cache = new WeakMap<MeshModel, ModelIndex>();

function group<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** The model's indexes (computed once per model object). */
export function indexOf(model: MeshModel): ModelIndex {
  let ix = cache.get(model);
  if (!ix) {
    ix = {
      servicesByFqdn: new Map(model.services.map((s) => [s.fqdn, s])),
      workloadsByNs: group(model.workloads, (w) => w.namespace),
      destinationRulesByFqdn: group(model.destinationRules, (d) =>
        resolveHost(d.host, d.namespace, model.clusterDomain),
      ),
      peerAuthByNs: group(model.peerAuthentications, (p) => p.namespace),
      authzByNs: group(model.authorizationPolicies, (p) => p.namespace),
      serviceAccounts: new Set(model.serviceAccounts.map((s) => `${s.namespace}/${s.name}`)),
      wildcardDestinationRules: model.destinationRules.filter((d) => d.host.startsWith('*')),
      virtualServicesByHost: (() => {
        const m = new Map<string, VirtualService[]>();
        for (const vs of model.virtualServices) {
          for (const h of new Set(vs.hosts.map((x) => resolveHost(x, vs.namespace, model.clusterDomain)))) {
            const k = h.includes('*') ? '*' : h;
            const list = m.get(k);
            if (list) list.push(vs);
            else m.set(k, [vs]);
          }
        }
        return m;
      })(),
      servicesOfWorkload: new Map(),
      workloadsByLabel: new Map(),
      workloadsByServiceAccount: new Map(),
      authzByNsLabel: new Map(),
      authzOrder: new Map(),
    };
    const byLabel = ix.workloadsByLabel as Map<string, Workload[]>;
    const push = <K, T>(m: Map<K, T[]>, k: K, v: T) => {
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    };
    for (const w of model.workloads) {
      for (const [k, v] of Object.entries(w.podLabels)) {
        push(byLabel, `${w.namespace}\0${k}=${v}`, w);
        push(byLabel, `\0${k}=${v}`, w);
      }
      push(
        ix.workloadsByServiceAccount as Map<string, Workload[]>,
        `${w.namespace}/${w.serviceAccountName}`,
        w,
      );
    }
    const buckets = ix.authzByNsLabel as Map<
      string,
      { unselected: AuthorizationPolicy[]; byLabel: Map<string, AuthorizationPolicy[]> }
    >;
    model.authorizationPolicies.forEach((p, i) => {
      (ix!.authzOrder as Map<AuthorizationPolicy, number>).set(p, i);
      let b = buckets.get(p.namespace);
      if (!b) buckets.set(p.namespace, (b = { unselected: [], byLabel: new Map() }));
      const first = p.selector ? Object.entries(p.selector)[0] : undefined;
      if (!first) b.unselected.push(p);
      else push(b.byLabel, `${first[0]}=${first[1]}`, p);
    });
    const byWorkload = ix.servicesOfWorkload as Map<Workload, Service[]>;
    for (const s of model.services) {
      if (!s.selector || !Object.keys(s.selector).length) continue;
      for (const w of selectFrom(ix, s.namespace, s.selector)) push(byWorkload, w, s);
    }
    cache.set(model, ix);
  }
  return ix;
}

/**
 * The workloads of `namespace` (every namespace when undefined) that `selector` picks, from the
 * label index: the smallest bucket among the selector's labels, filtered by the whole selector.
 */
function selectFrom(ix: ModelIndex, namespace: string | undefined, selector: Labels): readonly Workload[] {
  const prefix = namespace === undefined ? '' : namespace;
  let best: readonly Workload[] | undefined;
  for (const [k, v] of Object.entries(selector)) {
    const bucket = ix.workloadsByLabel.get(`${prefix}\0${k}=${v}`);
    if (!bucket) return [];
    if (!best || bucket.length < best.length) best = bucket;
  }
  if (!best) return [];
  return best.filter((w) => selects(selector, w.podLabels));
}

/** What a host name stands for in the registry. */
export type Registered =
  | { readonly type: 'service'; readonly service: Service }
  | { readonly type: 'serviceEntry'; readonly entry: ServiceEntryObj }
  | undefined;

/** The Service or ServiceEntry a (resolved) host names, if any. */
export function lookupHost(model: MeshModel, fqdn: string): Registered {
  const svc = indexOf(model).servicesByFqdn.get(fqdn);
  if (svc) return { type: 'service', service: svc };
  const entry = model.serviceEntries.find((se) => se.hosts.some((h) => hostMatches(h, fqdn)));
  if (entry) return { type: 'serviceEntry', entry };
  if (fqdn.startsWith('*')) {
    // A wildcard host is registered if it covers some Service.
    for (const s of model.services) if (hostMatches(fqdn, s.fqdn)) return { type: 'service', service: s };
  }
  return undefined;
}

/** The workloads a Service selects. */
export function workloadsOf(model: MeshModel, service: Service): Workload[] {
  if (!service.selector || !Object.keys(service.selector).length) return [];
  return [...selectFrom(indexOf(model), service.namespace, service.selector)];
}

/** Workloads in `namespace` (or every namespace, for the root namespace) that a selector picks. */
export function workloadsSelected(
  model: MeshModel,
  namespace: string,
  selector: Labels | undefined,
): Workload[] {
  const root = namespace === model.rootNamespace;
  if (!selector || !Object.keys(selector).length)
    return [...(root ? model.workloads : (indexOf(model).workloadsByNs.get(namespace) ?? []))];
  return [...selectFrom(indexOf(model), root ? undefined : namespace, selector)];
}

/**
 * The DestinationRule Istio applies to traffic from `clientNamespace` to `fqdn`: the client's
 * namespace first, then the service's, then the root namespace; an exact host before a wildcard.
 */
export function destinationRuleFor(
  model: MeshModel,
  fqdn: string,
  clientNamespace: string,
): DestinationRule | undefined {
  const ix = indexOf(model);
  const exact = ix.destinationRulesByFqdn.get(fqdn) ?? [];
  const wild = ix.wildcardDestinationRules.filter((d) => {
    const h = resolveHost(d.host, d.namespace, model.clusterDomain);
    return h !== fqdn && hostMatches(h, fqdn);
  });
  const serviceNs = fqdn.split('.')[1];
  for (const list of [exact, wild]) {
    for (const ns of [clientNamespace, serviceNs, model.rootNamespace]) {
      const dr = list.find((d) => d.namespace === ns && !d.workloadSelector);
      if (dr) return dr;
    }
    if (list.length) return list.find((d) => !d.workloadSelector);
  }
  return undefined;
}

/** The effective mutual-TLS mode of a workload's port and the PeerAuthentication that decided it. */
export interface EffectiveMtls {
  readonly mode: Exclude<MtlsMode, 'UNSET'>;
  /** `namespace/name` of the deciding PeerAuthentication; undefined for Istio's default (PERMISSIVE). */
  readonly decidedBy?: string;
  readonly scope: 'port' | 'workload' | 'namespace' | 'mesh' | 'default';
}

/**
 * Istio's PeerAuthentication precedence: workload (selector) > namespace > mesh (root
 * namespace); `portLevelMtls` of the workload policy for the container port; UNSET inherits.
 */
export function effectiveMtls(model: MeshModel, workload: Workload, containerPort?: number): EffectiveMtls {
  const ix = indexOf(model);
  const inNs = ix.peerAuthByNs.get(workload.namespace) ?? [];
  const wl = inNs.find((p) => p.selector && selects(p.selector, workload.podLabels));
  const ns = inNs.find((p) => !p.selector);
  const mesh = (ix.peerAuthByNs.get(model.rootNamespace) ?? []).find((p) => !p.selector);
  const id = (p: PeerAuthentication) => `${p.namespace}/${p.name}`;
  if (wl && containerPort !== undefined) {
    const pm = wl.portLevelMtls[String(containerPort)];
    if (pm && pm !== 'UNSET') return { mode: pm, decidedBy: id(wl), scope: 'port' };
  }
  if (wl && wl.mode !== 'UNSET') return { mode: wl.mode, decidedBy: id(wl), scope: 'workload' };
  if (ns && ns.mode !== 'UNSET' && workload.namespace !== model.rootNamespace)
    return { mode: ns.mode, decidedBy: id(ns), scope: 'namespace' };
  if (mesh && mesh.mode !== 'UNSET') return { mode: mesh.mode, decidedBy: id(mesh), scope: 'mesh' };
  return { mode: 'PERMISSIVE', scope: 'default' };
}

/** The container port a Service port forwards to for a workload. */
export function containerPortOf(service: Service, port: number | undefined): number | undefined {
  const p = port === undefined ? service.ports[0] : service.ports.find((x) => x.port === port);
  if (!p) return undefined;
  return typeof p.targetPort === 'number' ? p.targetPort : p.port;
}

/** The AuthorizationPolicies that apply to a workload: root-namespace and own-namespace, selector-matched. */
export function policiesFor(model: MeshModel, workload: Workload): AuthorizationPolicy[] {
  const ix = indexOf(model);
  const out: AuthorizationPolicy[] = [];
  const collect = (ns: string) => {
    const b = ix.authzByNsLabel.get(ns);
    if (!b) return;
    const found: AuthorizationPolicy[] = [...b.unselected];
    for (const [k, v] of Object.entries(workload.podLabels))
      for (const p of b.byLabel.get(`${k}=${v}`) ?? [])
        if (selects(p.selector, workload.podLabels)) found.push(p);
    found.sort((a, c) => ix.authzOrder.get(a)! - ix.authzOrder.get(c)!);
    out.push(...found);
  };
  if (workload.namespace !== model.rootNamespace) collect(model.rootNamespace);
  collect(workload.namespace);
  return out;
}

/** The SPIFFE principal of a workload. */
export function principalOf(model: MeshModel, namespace: string, serviceAccount: string): string {
  return `${model.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * A port's protocol as Istio reads it (`appProtocol`, else the port name's prefix before `-`, or a
 * ServiceEntry's `protocol`), and what Envoy does with it: `http` (HTTP, HTTP2, gRPC, gRPC-Web:
 * routes, methods and paths apply), `tcp` (TCP, TLS, HTTPS, Mongo, MySQL, Redis, UDP: an opaque
 * connection; HTTP routes and HTTP fields of policies do not apply), or `auto` (no protocol named:
 * Istio sniffs the first bytes, so an HTTP request is treated as HTTP).
 */
export interface PortProtocol {
  /** Upper-cased: `HTTP`, `GRPC`, `TCP`, `REDIS`, …, or `UNKNOWN`. */
  readonly name: string;
  readonly handling: 'http' | 'tcp' | 'auto';
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);
const TCP_PROTOCOLS = new Set(['TCP', 'TLS', 'HTTPS', 'MONGO', 'MYSQL', 'REDIS', 'UDP']);

/** Istio's protocol of a Service port (`name`, `appProtocol`) or a ServiceEntry port (`protocol`). */
export function portProtocol(
  p: { readonly name?: string; readonly appProtocol?: string; readonly protocol?: string },
  serviceEntry = false,
): PortProtocol {
  const given = serviceEntry ? p.protocol : (p.appProtocol ?? (p.name ?? '').split('-')[0]);
  const name = (given ?? '').toUpperCase().replace(/^KUBERNETES\.IO\/H2C$/, 'HTTP2');
  if (HTTP_PROTOCOLS.has(name)) return { name, handling: 'http' };
  if (TCP_PROTOCOLS.has(name)) return { name, handling: 'tcp' };
  if (!serviceEntry && p.protocol === 'UDP') return { name: 'UDP', handling: 'tcp' };
  return { name: 'UNKNOWN', handling: 'auto' };
}

/** The protocol of `port` (the first port when undefined) of the Service or ServiceEntry `fqdn` names. */
export function protocolOfHost(
  model: MeshModel,
  fqdn: string,
  port: number | undefined,
): PortProtocol | undefined {
  const reg = lookupHost(model, fqdn);
  if (reg?.type === 'service') {
    const p = port === undefined ? reg.service.ports[0] : reg.service.ports.find((x) => x.port === port);
    return p ? portProtocol(p) : undefined;
  }
  if (reg?.type === 'serviceEntry') {
    const p = port === undefined ? reg.entry.ports[0] : reg.entry.ports.find((x) => x.number === port);
    return p ? portProtocol(p, true) : undefined;
  }
  return undefined;
}

/** The Sidecar that configures a workload's proxy: one selecting it, else its namespace's default, else the root namespace's. */
export function sidecarFor(model: MeshModel, namespace: string, labels: Labels): Sidecar | undefined {
  const inNs = model.sidecars.filter((s) => s.namespace === namespace);
  return (
    inNs.find((s) => s.selector && selects(s.selector, labels)) ??
    inNs.find((s) => !s.selector) ??
    model.sidecars.find((s) => s.namespace === model.rootNamespace && !s.selector)
  );
}

/** What a proxy does with a host that is not in the registry, and who decided it. */
export function outboundTrafficPolicyFor(
  model: MeshModel,
  namespace: string | undefined,
  labels: Labels,
): { readonly mode: OutboundTrafficPolicyMode; readonly decidedBy: string } {
  const sc = namespace === undefined ? undefined : sidecarFor(model, namespace, labels);
  if (sc?.outboundTrafficPolicy)
    return { mode: sc.outboundTrafficPolicy, decidedBy: `Sidecar ${sc.namespace}/${sc.name}` };
  const mc = model.meshConfig;
  return {
    mode: mc.outboundTrafficPolicy,
    decidedBy: mc.where ? `mesh config ${mc.where}` : "Istio's default",
  };
}

/**
 * The Sidecar that keeps `host` (a Service or ServiceEntry host in `hostNamespace`) out of a
 * proxy's configuration: one configures the proxy (see {@link sidecarFor}) and none of its
 * `egress[].hosts` (`namespace/dnsName`: `*` any namespace, `.` the workload's own, `~` none;
 * `*`, `*.suffix` or a name) covers it. Undefined when the host is imported (or no Sidecar, or one
 * without egress, applies). Such a host is unknown to the proxy: its VirtualServices and subsets do
 * not apply and the outbound traffic policy decides (PassthroughCluster or BlackHoleCluster).
 * @see https://istio.io/latest/docs/reference/config/networking/sidecar/#IstioEgressListener
 */
export function sidecarHiding(
  model: MeshModel,
  namespace: string,
  labels: Labels,
  host: string,
  hostNamespace: string,
): Sidecar | undefined {
  const sc = sidecarFor(model, namespace, labels);
  if (!sc || !sc.egressHosts.length) return undefined;
  const imported = sc.egressHosts.some((entry) => {
    const slash = entry.indexOf('/');
    const ns = slash < 0 ? '*' : entry.slice(0, slash);
    const dns = slash < 0 ? entry : entry.slice(slash + 1);
    // `.` is the workload's namespace (a root-namespace Sidecar applies to every namespace).
    const nsOk =
      ns === '*' || (ns === '.' ? namespace === hostNamespace : ns !== '~' && ns === hostNamespace);
    return nsOk && hostMatches(dns, host);
  });
  return imported ? undefined : sc;
}
