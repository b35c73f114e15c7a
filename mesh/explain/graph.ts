/**
 * The mesh as a picture: an SVG drawn from the model alone, with no network and no renderer.
 * Services are boxes with a row per version (subset), the share of each route that reaches it,
 * faults and mirrors, and the mTLS mode of its workloads; arrows are the calls the policies allow
 * (declared ones solid, differences in red or orange) and the ingress gateway's routes.
 */
import { destinationWeights } from '../../api/route-weights.js';
import { effectiveMtls, indexOf, resolveHost, selects, workloadsOf } from '../model/query.js';
import type { HttpMatchRequest, MeshModel, Service, StringMatch } from '../model/types.js';
import { reachability, type Reachability, type ReachabilityCell } from './reachability.js';

interface VersionRow {
  readonly name: string;
  readonly pods: number;
  /** Route shares, e.g. `80%`, `end-user=jason: 100%`. */
  readonly routes: readonly string[];
}

interface Node {
  readonly key: string;
  readonly title: string;
  readonly subtitle: string;
  readonly badge?: { readonly text: string; readonly color: string };
  readonly rows: readonly VersionRow[];
  readonly notes: readonly string[];
  layer: number;
  x: number;
  y: number;
  readonly width: number;
  readonly height: number;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly kind: 'declared' | 'allowed' | 'denied' | 'undeclared' | 'ingress';
}

const W = 270;
const HEAD = 46;
const ROW = 20;
const NOTE = 16;
const COL = 440;
const GAP = 36;
const MTLS_COLOR: Record<string, string> = { STRICT: '#1b7f3b', PERMISSIVE: '#b7791f', DISABLE: '#c53030' };
const EDGE_STYLE: Record<Edge['kind'], { color: string; dash?: string }> = {
  declared: { color: '#2b4c7e' },
  allowed: { color: '#2b4c7e', dash: '6 4' },
  ingress: { color: '#6b46c1' },
  denied: { color: '#c53030', dash: '3 3' },
  undeclared: { color: '#dd6b20', dash: '6 4' },
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

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
  const rows: VersionRow[] = [...routes.entries()].map(([name, rs]) => {
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
    title: svc.name,
    subtitle: `${svc.namespace} · ${svc.ports.map((p) => `${p.name || 'port'} ${p.port}`).join(', ')}`,
    badge: { text: `mTLS ${mode}`, color: MTLS_COLOR[mode] ?? '#4a5568' },
    rows,
    notes,
    layer: 0,
    x: 0,
    y: 0,
    width: W,
    height: HEAD + rows.length * ROW + notes.length * NOTE + 10,
  };
}

/** The nodes and edges of the picture. */
function graphOf(model: MeshModel): { nodes: Node[]; edges: Edge[] } {
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
        : undefined;

  // The ingress gateway: its Gateways' servers, and the routes of the VirtualServices bound to them.
  if (model.gateways.length) {
    const servers = model.gateways.flatMap((g) =>
      g.servers.map((s) => `${g.name}: ${s.port.protocol} ${s.port.number} ${s.hosts.join(',')}`),
    );
    nodes.unshift({
      key: 'ingress',
      title: 'ingress gateway',
      subtitle: 'istio-ingressgateway',
      rows: [],
      notes: servers,
      layer: 0,
      x: 0,
      y: 0,
      width: W,
      height: HEAD + servers.length * NOTE + 10,
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
  }
  // External services: a box per ServiceEntry outside the mesh, with its ports.
  for (const se of model.serviceEntries.filter((x) => x.location !== 'MESH_INTERNAL')) {
    const notes = [
      `ServiceEntry ${se.namespace}/${se.name}`,
      ...se.ports.map((p) => `${(p.protocol ?? 'TCP').toUpperCase()} ${p.number}`),
    ];
    nodes.push({
      key: `external:${se.namespace}/${se.name}`,
      title: se.hosts.length > 1 ? `${se.hosts[0]} +${se.hosts.length - 1}` : (se.hosts[0] ?? se.name),
      subtitle: `external · resolution ${se.resolution}`,
      rows: [],
      notes,
      layer: 0,
      x: 0,
      y: 0,
      width: W,
      height: HEAD + notes.length * NOTE + 10,
    });
  }
  layout(nodes, edges);
  return { nodes, edges };
}

/** Columns by longest path from the sources (cycles cut), rows in name order within a column. */
function layout(nodes: Node[], edges: Edge[]): void {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const a = byKey.get(e.from)!;
      const b = byKey.get(e.to)!;
      if (a !== b && b.layer < a.layer + 1 && a.layer + 1 < nodes.length) {
        b.layer = a.layer + 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const connected = new Set(edges.flatMap((e) => [e.from, e.to]));
  const maxLayer = Math.max(0, ...nodes.filter((n) => connected.has(n.key)).map((n) => n.layer));
  for (const n of nodes) if (!connected.has(n.key) && edges.length) n.layer = maxLayer + 1;
  const columns = new Map<number, Node[]>();
  for (const n of nodes) columns.set(n.layer, [...(columns.get(n.layer) ?? []), n]);
  const heights = [...columns.values()].map((c) => c.reduce((h, n) => h + n.height + GAP, -GAP));
  const tallest = Math.max(...heights, 0);
  for (const [layer, col] of columns) {
    const h = col.reduce((s, n) => s + n.height + GAP, -GAP);
    let y = 70 + (tallest - h) / 2;
    for (const n of col) {
      n.x = 30 + layer * COL;
      n.y = y;
      y += n.height + GAP;
    }
  }
}

/** The SVG of the mesh. Deterministic: the same model gives the same bytes. */
export function meshGraphSvg(model: MeshModel, options: { readonly title?: string } = {}): string {
  const { nodes, edges } = graphOf(model);
  const width = Math.max(640, ...nodes.map((n) => n.x + n.width + 30));
  const height = Math.max(...nodes.map((n) => n.y + n.height), 100) + 150;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${Math.ceil(height)}" viewBox="0 0 ${width} ${Math.ceil(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<defs>',
    ...Object.entries(EDGE_STYLE).map(
      ([k, s]) =>
        `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${s.color}"/></marker>`,
    ),
    '</defs>',
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="30" y="36" font-size="18" font-weight="bold" fill="#1a202c">${esc(options.title ?? 'mesh')}</text>`,
  ];
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  // Edges first, so boxes and labels sit on top.
  const fanIn = new Map<string, number>();
  const fanOut = new Map<string, number>();
  const labels: string[] = [];
  for (const e of edges) {
    const a = byKey.get(e.from)!;
    const b = byKey.get(e.to)!;
    const i = fanOut.get(e.from) ?? 0;
    const j = fanIn.get(e.to) ?? 0;
    fanOut.set(e.from, i + 1);
    fanIn.set(e.to, j + 1);
    const s = EDGE_STYLE[e.kind];
    const forward = b.x > a.x;
    const x1 = forward ? a.x + a.width : a.x + a.width / 2 + 20 * i;
    const y1 = forward ? a.y + 22 + 12 * i : a.y + a.height;
    const x2 = forward ? b.x : b.x + b.width / 2 - 20 * j;
    const y2 = forward ? b.y + 22 + 12 * j : b.y;
    const path = forward
      ? `M${x1},${y1} C${x1 + 80},${y1} ${x2 - 80},${y2} ${x2},${y2}`
      : `M${x1},${y1} C${x1},${y1 + 60} ${x2},${y2 - 60} ${x2},${y2}`;
    out.push(
      `<path d="${path}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${e.kind})"/>`,
    );
    const lx = (x1 + x2) / 2;
    const ly = forward ? Math.min(y1, y2) + Math.abs(y2 - y1) / 2 - 6 : (y1 + y2) / 2 - 4;
    const tw = e.label.length * 6.2 + 8;
    labels.push(
      `<rect x="${(lx - tw / 2).toFixed(1)}" y="${(ly - 11).toFixed(1)}" width="${tw.toFixed(1)}" height="15" rx="3" fill="#ffffff" fill-opacity="0.9"/>`,
      `<text x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="middle" font-size="11" fill="${s.color}">${esc(e.label)}</text>`,
    );
  }
  for (const n of nodes) {
    out.push(`<g>`);
    out.push(
      `<rect x="${n.x}" y="${n.y.toFixed(1)}" width="${n.width}" height="${n.height}" rx="8" fill="${n.key === 'ingress' ? '#f3effc' : n.key.startsWith('external:') ? '#fffaf0' : '#f7fafc'}" stroke="#4a5568" stroke-width="1.2"${n.key.startsWith('external:') ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${n.x + 12}" y="${(n.y + 20).toFixed(1)}" font-size="14" font-weight="bold" fill="#1a202c">${esc(n.title)}</text>`,
      `<text x="${n.x + 12}" y="${(n.y + 36).toFixed(1)}" font-size="11" fill="#4a5568">${esc(n.subtitle)}</text>`,
    );
    if (n.badge) {
      const bw = n.badge.text.length * 6.4 + 10;
      out.push(
        `<rect x="${(n.x + n.width - bw - 8).toFixed(1)}" y="${(n.y + 8).toFixed(1)}" width="${bw.toFixed(1)}" height="17" rx="8" fill="${n.badge.color}"/>`,
        `<text x="${(n.x + n.width - bw / 2 - 8).toFixed(1)}" y="${(n.y + 20).toFixed(1)}" text-anchor="middle" font-size="11" fill="#ffffff">${esc(n.badge.text)}</text>`,
      );
    }
    let y = n.y + HEAD;
    for (const r of n.rows) {
      const empty = r.pods === 0;
      out.push(
        `<rect x="${n.x + 8}" y="${y.toFixed(1)}" width="${n.width - 16}" height="${ROW - 3}" rx="4" fill="${empty ? '#ffffff' : '#e2e8f0'}" stroke="#a0aec0"${empty ? ' stroke-dasharray="3 2"' : ''}/>`,
        `<text x="${n.x + 14}" y="${(y + 13).toFixed(1)}" fill="${empty ? '#718096' : '#1a202c'}"><tspan font-weight="bold">${esc(r.name)}</tspan> ${esc(empty ? 'no pods' : `${r.pods} pod${r.pods === 1 ? '' : 's'}`)}</text>`,
      );
      if (r.routes.length)
        out.push(
          `<text x="${n.x + n.width - 14}" y="${(y + 13).toFixed(1)}" text-anchor="end" fill="#2b4c7e">${esc(r.routes.join(' · '))}</text>`,
        );
      y += ROW;
    }
    for (const note of n.notes) {
      out.push(
        `<text x="${n.x + 12}" y="${(y + 12).toFixed(1)}" font-size="11" fill="#4a5568">${esc(note)}</text>`,
      );
      y += NOTE;
    }
    out.push(`</g>`);
  }
  out.push(...labels);
  // Legend.
  const ly = Math.ceil(height) - 110;
  const legend: [Edge['kind'], string][] = [
    ['ingress', 'ingress route (paths)'],
    ['declared', 'declared call, allowed (methods · mTLS of the hop)'],
    ['allowed', 'allowed by the policies, not a declared call (no call graph, or an open rule)'],
    ['undeclared', 'allowed by principal, not declared (MESH507)'],
    ['denied', 'declared, denied by the policies (MESH506)'],
  ];
  legend.forEach(([k, text], i) => {
    const s = EDGE_STYLE[k];
    const y = ly + i * 18;
    out.push(
      `<line x1="30" y1="${y}" x2="80" y2="${y}" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${k})"/>`,
      `<text x="90" y="${y + 4}" font-size="11" fill="#1a202c">${esc(text)}</text>`,
    );
  });
  out.push(
    `<text x="${Math.max(560, width / 2)}" y="${ly + 4}" font-size="11" fill="#1a202c">Boxes: a Service, a row per version (subset): its pods and the share of each route; dashed: no pods.</text>`,
    `<text x="${Math.max(560, width / 2)}" y="${ly + 22}" font-size="11" fill="#1a202c">Badge: the mTLS mode its workloads accept (PeerAuthentication).</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
