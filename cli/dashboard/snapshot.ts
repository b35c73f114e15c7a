/**
 * What the dashboard shows at one moment, computed from the objects the watches hold: the mesh
 * picture (the same ELK layout and SVG as `cdk8s-mesh graph`, with a line kept under each arrow's
 * label for live rates), what a click on a box or an arrow opens (its VirtualServices,
 * DestinationRules, policies and findings, as YAML), the validator's findings and every
 * CanaryRelease as `cdk8s-mesh status` sees it. Pure: objects in, one JSON-ready value out.
 */
import { stringify } from 'yaml';
import { graphSvg, layoutMeshGraph, meshGraph } from '../../mesh/explain/graph.js';
import { buildModel } from '../../mesh/model/load.js';
import type { KubeObject, SourcedObject } from '../../mesh/model/types.js';
import { validate, type Finding } from '../../mesh/validator/index.js';
import type { CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { viewOf, type ReleaseView } from '../release/view.js';

/** An object as a click shows it. */
export interface ShownObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly yaml: string;
}

/** What a click on a box opens. */
export interface NodeDetail {
  readonly key: string;
  readonly title: string;
  readonly objects: readonly ShownObject[];
  readonly findings: readonly Finding[];
}

export interface EdgeInfo {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly label: string;
}

export interface Snapshot {
  readonly namespaces: readonly string[];
  /** The picture: ../../mesh/explain/graph's SVG, boxes as `<g data-node>`, arrows as `data-edge`. */
  readonly svg: string;
  readonly nodes: Readonly<Record<string, NodeDetail>>;
  readonly edges: readonly EdgeInfo[];
  readonly findings: readonly Finding[];
  /** Every CanaryRelease as `status` shows it, with the resourceVersion a button click sends back. */
  readonly releases: readonly (ReleaseView & { readonly resourceVersion?: string })[];
  /** Objects counted per kind, to tell an empty namespace from a watch that sees nothing. */
  readonly counts: Readonly<Record<string, number>>;
}

const meta = (o: KubeObject) => (o.metadata ?? {}) as { name?: string; namespace?: string };
const spec = (o: KubeObject) => ((o as { spec?: unknown }).spec ?? {}) as Record<string, unknown>;
const shown = (o: KubeObject): ShownObject => {
  const { managedFields: _drop, ...metadata } = (o.metadata ?? {}) as Record<string, unknown>;
  void _drop;
  return {
    kind: o.kind ?? '',
    namespace: meta(o).namespace ?? '',
    name: meta(o).name ?? '',
    yaml: stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata, spec: spec(o) }),
  };
};

/** Whether `host` (short, `name.ns`, or FQDN) names Service `ns/name`. */
function names(host: unknown, ns: string, name: string, objectNs: string): boolean {
  if (typeof host !== 'string') return false;
  if (host === name) return objectNs === ns;
  return host === `${name}.${ns}` || host.startsWith(`${name}.${ns}.svc`);
}

/** The Istio objects a box stands on: routes to it, its DestinationRules, the policies on its pods. */
function objectsOf(key: string, objects: readonly KubeObject[]): KubeObject[] {
  if (key === 'ingress')
    return objects.filter(
      (o) =>
        o.kind === 'Gateway' ||
        (o.kind === 'VirtualService' && ((spec(o).gateways as unknown[]) ?? []).some((g) => g !== 'mesh')),
    );
  if (key.startsWith('external:')) {
    const [ns, name] = key.slice('external:'.length).split('/');
    return objects.filter(
      (o) => o.kind === 'ServiceEntry' && meta(o).namespace === ns && meta(o).name === name,
    );
  }
  const [ns, name] = key.split('/') as [string, string];
  const svc = objects.find((o) => o.kind === 'Service' && meta(o).namespace === ns && meta(o).name === name);
  const selector = (spec(svc ?? ({} as KubeObject)).selector ?? {}) as Record<string, string>;
  const onPods = (o: KubeObject) => {
    const sel = ((spec(o).selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ??
      {}) as Record<string, string>;
    return Object.entries(sel).every(([k, v]) => selector[k] === v);
  };
  return objects.filter((o) => {
    const ons = meta(o).namespace ?? '';
    switch (o.kind) {
      case 'VirtualService': {
        const s = spec(o) as {
          hosts?: unknown[];
          http?: { route?: { destination?: { host?: unknown } }[] }[];
        };
        return (
          (s.hosts ?? []).some((h) => names(h, ns, name, ons)) ||
          (s.http ?? []).some((r) => (r.route ?? []).some((d) => names(d.destination?.host, ns, name, ons)))
        );
      }
      case 'DestinationRule':
        return names(spec(o).host, ns, name, ons);
      case 'AuthorizationPolicy':
      case 'PeerAuthentication':
      case 'Sidecar':
        return ons === ns && onPods(o);
      default:
        return false;
    }
  });
}

/** The snapshot of `objects` (the mesh's kinds) and `releases`. */
export async function snapshot(
  namespaces: readonly string[],
  objects: readonly SourcedObject[],
  releases: readonly CanaryReleaseObject[],
): Promise<Snapshot> {
  const model = buildModel([...objects]);
  const graph = meshGraph(model);
  const layout = await layoutMeshGraph(graph, { extraEdgeLabelLines: 1 });
  const findings = validate(model);
  const raw = objects.map((o) => o.object);
  const nodes: Record<string, NodeDetail> = {};
  for (const n of graph.nodes) {
    const objs = objectsOf(n.key, raw);
    const named = new Set([
      ...objs.map((o) => `${o.kind} ${meta(o).namespace}/${meta(o).name}`),
      `Service ${n.key}`,
    ]);
    nodes[n.key] = {
      key: n.key,
      title: n.title,
      objects: objs.map(shown),
      findings: findings.filter((f) => named.has(f.object)),
    };
  }
  const counts: Record<string, number> = {};
  for (const o of raw) counts[o.kind ?? '?'] = (counts[o.kind ?? '?'] ?? 0) + 1;
  return {
    namespaces,
    svg: graphSvg(layout, { title: `mesh: ${namespaces.join(', ')}` }),
    nodes,
    edges: layout.edges.map((e) => ({ id: e.id, from: e.from, to: e.to, kind: e.kind, label: e.label })),
    findings,
    releases: releases
      .map((r) => ({
        ...viewOf(r),
        ...(r.metadata.resourceVersion ? { resourceVersion: r.metadata.resourceVersion } : {}),
      }))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
    counts,
  };
}
