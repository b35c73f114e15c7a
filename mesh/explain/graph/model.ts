/**
 * What the mesh picture shows, before it is placed: a box per Service (a row per version with its
 * pods and the share of each route that reaches it, faults, mirrors, the mTLS mode of its
 * workloads), one for the ingress gateway and one per external ServiceEntry, and the arrows: the
 * calls the policies allow (declared ones, and the differences) and the ingress routes.
 */
import { destinationWeights } from '../../../api/route-weights.js';
import { effectiveMtls, indexOf, resolveHost, selects, workloadsOf } from '../../model/query.js';
import type { HttpMatchRequest, MeshModel, Service, StringMatch } from '../../model/types.js';
import { reachability, type Reachability, type ReachabilityCell } from '../reachability.js';

/** A version (subset) of a Service: its pods and the route shares that reach it. */
export interface GraphVersionRow {
  readonly name: string;
  readonly pods: number;
  /** Route shares, e.g. `80%`, `end-user=jason: 100%`. */
  readonly routes: readonly string[];
}

/** What a box stands for: a Service, the ingress gateway, an external ServiceEntry, or a client-only workload. */
export type GraphNodeKind = 'service' | 'ingress' | 'external' | 'client';

/** A box of the picture. */
export interface GraphNode {
  /**
   * `namespace/name` of a Service, `ingress`, `external:namespace/name` of a ServiceEntry, or
   * `client:namespace/app` of a workload that calls but has no Service (a load generator, a job).
   */
  readonly key: string;
  readonly kind: GraphNodeKind;
  readonly title: string;
  readonly subtitle: string;
  /** The mTLS mode its workloads accept, and the badge's colour. */
  readonly badge?: { readonly text: string; readonly color: string };
  readonly rows: readonly GraphVersionRow[];
  readonly notes: readonly string[];
}

/** What an arrow stands for. */
export type GraphEdgeKind = 'declared' | 'allowed' | 'denied' | 'undeclared' | 'ingress';

/** An arrow of the picture, between two node keys. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly kind: GraphEdgeKind;
}

/** The boxes and arrows of a mesh, in a stable order. */
export interface MeshGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

type Node = GraphNode;
type Edge = GraphEdge;

/** The badge's colour per mTLS mode; any other mode (`mixed`, `no sidecar`) is {@link MTLS_OTHER_COLOR}. */
export const MTLS_COLOR: Readonly<Record<string, string>> = {
  STRICT: '#1b7f3b',
  PERMISSIVE: '#b7791f',
  DISABLE: '#c53030',
};
export const MTLS_OTHER_COLOR = '#4a5568';

function sm(m: StringMatch): string {
  if (m.exact !== undefined) return m.exact;
  if (m.prefix !== undefined) return `${m.prefix}*`;
  if (m.regex !== undefined) return `~${m.regex}`;
  return '*';
}

/** A match block in a few characters: `end-user=jason`, `/api*`, `GET`. */
function describeMatch(m: HttpMatchRequest): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(m.headers ?? {})) parts.push(`${k}=${sm(v)}`);
  if (m.uri) parts.push(sm(m.uri));
  if (m.method) parts.push(sm(m.method));
  for (const [k, v] of Object.entries(m.queryParams ?? {})) parts.push(`?${k}=${sm(v)}`);
  if (m.sourceLabels) parts.push(`from ${Object.values(m.sourceLabels).join(',')}`);
  return parts.join(' ') || 'any';
}

function serviceNode(model: MeshModel, svc: Service, r: Reachability): Node {
  const ws = workloadsOf(model, svc);
  const ix = indexOf(model);
  const dr = (ix.destinationRulesByFqdn.get(svc.fqdn) ?? []).find((d) => !d.workloadSelector);
  const subsets = dr?.subsets.length
    ? dr.subsets.map((s) => ({ name: s.name, labels: s.labels }))
    : [...new Set(ws.map((w) => w.podLabels.version ?? w.name))].map((v) => ({
        name: v,
        labels: ws.find((w) => (w.podLabels.version ?? w.name) === v)!.podLabels,
      }));
  const routes = new Map<string, string[]>(subsets.map((s) => [s.name, []]));
  const notes: string[] = [];
  const vs = (ix.virtualServicesByHost.get(svc.fqdn) ?? []).find(
    (v) => !v.gateways.length || v.gateways.includes('mesh'),
  );
  if (vs) {
    vs.http.forEach((rule, i) => {
      const when = rule.match?.length ? rule.match.map(describeMatch).join(' | ') : i > 0 ? 'others' : '';
      const dests = rule.route ?? [];
      const weights = destinationWeights(dests);
      dests.forEach((d, j) => {
        if (resolveHost(d.destination.host, vs.namespace, model.clusterDomain) !== svc.fqdn) return;
        const w = weights[j]!;
        const key = d.destination.subset ?? '(all)';
        if (!routes.has(key)) routes.set(key, []);
        routes.get(key)!.push(`${when ? `${when}: ` : ''}${w}%`);
      });
      const tag = when ? ` (${when})` : '';
      if (rule.fault?.delay) notes.push(`fault: delay ${rule.fault.delay.fixedDelay ?? '?'}${tag}`);
      if (rule.fault?.abort)
        notes.push(`fault: abort ${rule.fault.abort.httpStatus ?? rule.fault.abort.grpcStatus ?? '?'}${tag}`);
      if (rule.mirror)
        notes.push(
          `mirror ${rule.mirrorPercentage?.value ?? 100}% to ${rule.mirror.subset ?? rule.mirror.host}${tag}`,
        );
      if (rule.timeout) notes.push(`timeout ${rule.timeout}${tag}`);
      if (rule.retries?.attempts) notes.push(`retries ${rule.retries.attempts}${tag}`);
    });
  }
  // A version every rule sends the same share to: just the share.
  const ruleCount = vs?.http.length ?? 0;
  for (const [name, rs] of routes) {
    const shares = new Set(rs.map((x) => x.slice(x.lastIndexOf(' ') + 1)));
    if (ruleCount > 1 && rs.length === ruleCount && shares.size === 1) routes.set(name, [...shares]);
  }
  const rows: GraphVersionRow[] = [...routes.entries()].map(([name, rs]) => {
    const labels = subsets.find((s) => s.name === name)?.labels;
    const pods = ws
      .filter((w) => (labels ? selects(labels, w.podLabels) : true))
      .reduce((n, w) => n + w.replicas, 0);
    return { name, pods, routes: rs };
  });
  const modes = new Set(ws.filter((w) => w.sidecar).map((w) => effectiveMtls(model, w).mode));
  const ports = ws.flatMap((w) =>
    w.containerPorts
      .map((p) => ({ p, m: effectiveMtls(model, w, p) }))
      .filter((x) => x.m.scope === 'port')
      .map((x) => `port ${x.p} ${x.m.mode}`),
  );
  for (const p of new Set(ports)) notes.push(`mTLS ${p}`);
  if (ws.some((w) => !w.sidecar)) notes.push('no sidecar on some pods');
  const open = r.cells
    .filter((c) => c.to === `${svc.namespace}/${svc.name}`)
    .every((c) => c.access === 'allow');
  if (open && r.callers.length) notes.push('every caller allowed');
  const mode = modes.size === 1 ? [...modes][0]! : modes.size ? 'mixed' : 'no sidecar';
  return {
    key: `${svc.namespace}/${svc.name}`,
    kind: 'service',
    title: svc.name,
    subtitle: `${svc.namespace} · ${svc.ports.map((p) => `${p.name || 'port'} ${p.port}`).join(', ')}`,
    badge: { text: `mTLS ${mode}`, color: MTLS_COLOR[mode] ?? MTLS_OTHER_COLOR },
    rows,
    notes,
  };
}

/**
 * The box of a caller with no Service of its own (a client-only workload, such as a load
 * generator): its pods and ServiceAccount. Undefined for a caller the model has no workload of.
 */
function clientNode(model: MeshModel, c: ReachabilityCell['from']): Node | undefined {
  const ws = model.workloads.filter(
    (w) => w.namespace === c.namespace && (w.podLabels.app ?? w.name) === c.name,
  );
  if (!ws.length) return undefined;
  const accounts = [...new Set(ws.map((w) => w.serviceAccountName))];
  const modes = new Set(ws.map((w) => (w.sidecar ? 'sidecar' : w.ambient ? 'ambient' : 'no sidecar')));
  return {
    key: `client:${c.namespace}/${c.name}`,
    kind: 'client',
    title: c.name,
    subtitle: `${c.namespace} · client, no Service`,
    rows: [],
    notes: [
      `${ws.reduce((n, w) => n + w.replicas, 0)} pod(s), ${[...modes].join(', ')}`,
      `ServiceAccount ${accounts.join(', ')}`,
    ],
  };
}

/** The boxes and arrows of the picture of `model`. */
export function meshGraph(model: MeshModel): MeshGraph {
  const r = reachability(model);
  const services = model.services
    .filter((s) => workloadsOf(model, s).length || indexOf(model).destinationRulesByFqdn.has(s.fqdn))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const nodes: Node[] = services.map((s) => serviceNode(model, s, r));
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const edges: Edge[] = [];
  const callerKey = (c: ReachabilityCell['from']) =>
    c.ingress
      ? 'ingress'
      : model.services.find((s) => s.namespace === c.namespace && s.name === c.name)
        ? `${c.namespace}/${c.name}`
        : clientNode(model, c)?.key;

  // The ingress gateway: its Gateways' servers, and the routes of the VirtualServices bound to them.
  if (model.gateways.length) {
    const servers = model.gateways.flatMap((g) =>
      g.servers.map((s) => `${g.name}: ${s.port.protocol} ${s.port.number} ${s.hosts.join(',')}`),
    );
    nodes.unshift({
      key: 'ingress',
      kind: 'ingress',
      title: 'ingress gateway',
      subtitle: 'istio-ingressgateway',
      rows: [],
      notes: servers,
    });
    for (const vs of model.virtualServices) {
      if (!vs.gateways.some((g) => g !== 'mesh')) continue;
      const targets = new Map<string, string[]>();
      for (const rule of vs.http) {
        const when = rule.match?.length ? rule.match.map(describeMatch) : ['any'];
        for (const d of rule.route ?? []) {
          const fqdn = resolveHost(d.destination.host, vs.namespace, model.clusterDomain);
          const svc = indexOf(model).servicesByFqdn.get(fqdn);
          if (!svc) continue;
          const k = `${svc.namespace}/${svc.name}`;
          targets.set(k, [...(targets.get(k) ?? []), ...when]);
        }
      }
      for (const [to, paths] of targets) {
        const label = paths.length > 1 ? `${paths[0]} +${paths.length - 1} paths` : paths.join(' ');
        if (byKey.has(to)) edges.push({ from: 'ingress', to, label, kind: 'ingress' });
      }
    }
  }

  // Calls: declared ones (allowed or not), and what the policies allow beyond them. A callee
  // every caller may reach says so in its box instead of drawing an arrow from everyone.
  for (const c of r.cells) {
    const from = callerKey(c.from);
    if (
      !from ||
      !byKey.has(c.to) ||
      (from === 'ingress' && edges.some((e) => e.from === 'ingress' && e.to === c.to))
    )
      continue;
    const open = r.cells.filter((x) => x.to === c.to).every((x) => x.access === 'allow');
    const allowed = c.access === 'allow' || c.access === 'partial';
    const ops = c.access === 'partial' ? c.allowed.join(' ') : 'any';
    const tls = c.tls?.mutual ? ' · mTLS' : c.tls && !c.tls.ok ? ' · TLS mismatch' : ' · plain text';
    let kind: Edge['kind'] | undefined;
    if (c.findings.includes('MESH506')) kind = 'denied';
    else if (c.findings.includes('MESH507')) kind = 'undeclared';
    else if (c.declared) kind = allowed ? 'declared' : 'denied';
    else if (allowed && !open && from !== c.to) kind = 'allowed';
    if (!kind) continue;
    const label =
      kind === 'denied'
        ? `declared, denied${c.findings.length ? ` (${c.findings.join(',')})` : ''}`
        : `${ops}${tls}${kind === 'undeclared' ? ' (MESH507)' : ''}`;
    edges.push({ from, to: c.to, label, kind });
    if (from.startsWith('client:') && !byKey.has(from)) {
      const client = clientNode(model, c.from)!;
      nodes.push(client);
      byKey.set(from, client);
    }
  }
  // External services: a box per ServiceEntry outside the mesh, with its ports.
  for (const se of model.serviceEntries.filter((x) => x.location !== 'MESH_INTERNAL')) {
    const notes = [
      `ServiceEntry ${se.namespace}/${se.name}`,
      ...se.ports.map((p) => `${(p.protocol ?? 'TCP').toUpperCase()} ${p.number}`),
    ];
    nodes.push({
      key: `external:${se.namespace}/${se.name}`,
      kind: 'external',
      title: se.hosts.length > 1 ? `${se.hosts[0]} +${se.hosts.length - 1}` : (se.hosts[0] ?? se.name),
      subtitle: `external · resolution ${se.resolution}`,
      rows: [],
      notes,
    });
  }
  // One box per key (the model may hold an object twice), arrows only between boxes.
  const seen = new Set<string>();
  const unique = nodes.filter((n) => !seen.has(n.key) && seen.add(n.key));
  return { nodes: unique, edges: edges.filter((e) => seen.has(e.from) && seen.has(e.to)) };
}
