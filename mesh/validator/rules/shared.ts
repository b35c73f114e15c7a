/** Helpers the rules of several object kinds share. */
import { HTTP_METHODS } from '../../../api/http.js';
import { hostMatches, lookupHost, resolveHost, selects, workloadsOf } from '../../model/query.js';
import type {
  Destination,
  DestinationRule,
  Entry,
  HttpRoute,
  MeshModel,
  TlsMode,
  VirtualService,
  Workload,
} from '../../model/types.js';

export const fq = (m: MeshModel, host: string, ns: string) => resolveHost(host, ns, m.clusterDomain);
export const id = (e: Entry) => `${e.namespace}/${e.name}`;

/** Every destination a VirtualService names, with the field it is in. */
export function destinationsOf(vs: VirtualService): { d: Destination; field: string; route?: HttpRoute }[] {
  const out: { d: Destination; field: string; route?: HttpRoute }[] = [];
  vs.http.forEach((r, i) => {
    (r.route ?? []).forEach((rd, j) => {
      if (rd?.destination?.host) out.push({ d: rd.destination, field: `http[${i}].route[${j}]`, route: r });
    });
    if (r.mirror?.host) out.push({ d: r.mirror, field: `http[${i}].mirror`, route: r });
  });
  for (const o of vs.otherDestinations) out.push({ d: o.destination, field: o.field });
  return out;
}

export function gatewayOf(m: MeshModel, ref: string, vsNs: string) {
  const [ns, name] = ref.includes('/')
    ? ref.split('/', 2)
    : ref.includes('.')
      ? [ref.split('.')[1], ref.split('.')[0]]
      : [vsNs, ref];
  return m.gateways.find((g) => g.namespace === ns && g.name === name);
}

export { canonical } from '../../../api/canonical-json.js';

export function drTls(dr: DestinationRule): { mode: TlsMode; where: string }[] {
  const out: { mode: TlsMode; where: string }[] = [];
  if (dr.trafficPolicy?.tls?.mode) out.push({ mode: dr.trafficPolicy.tls.mode, where: 'trafficPolicy.tls' });
  dr.trafficPolicy?.portLevelSettings?.forEach((p, i) => {
    if (p.tls?.mode) out.push({ mode: p.tls.mode, where: `trafficPolicy.portLevelSettings[${i}].tls` });
  });
  dr.subsets.forEach((s) => {
    if (s.trafficPolicy?.tls?.mode)
      out.push({ mode: s.trafficPolicy.tls.mode, where: `subsets[${s.name}].trafficPolicy.tls` });
  });
  return out;
}

/** Workloads a DestinationRule's host reaches (Services in the registry, or every one for `*.local`). */
export function drWorkloads(m: MeshModel, dr: DestinationRule): Workload[] {
  const h = fq(m, dr.host, dr.namespace);
  if (h.startsWith('*'))
    return m.services.filter((s) => hostMatches(h, s.fqdn)).flatMap((s) => workloadsOf(m, s));
  const reg = lookupHost(m, h);
  return reg?.type === 'service' ? workloadsOf(m, reg.service) : [];
}

/**
 * DestinationRule subsets that select no workload of their Service, each with the first route
 * that sends to it (if any) and whether the authoring layer declared it without deployment.
 */
export function emptySubsets(m: MeshModel): EmptySubset[] {
  let found = emptySubsetsOf.get(m);
  if (!found) emptySubsetsOf.set(m, (found = findEmptySubsets(m)));
  return found;
}
export type EmptySubset = ReturnType<typeof findEmptySubsets>[number];
/** MESH301 and MESH306 read the same list: computed once per model. */
export const emptySubsetsOf = new WeakMap<MeshModel, EmptySubset[]>();

export function findEmptySubsets(m: MeshModel) {
  const routedTo = new Map<string, string>();
  for (const vs of m.virtualServices)
    for (const { d, field } of destinationsOf(vs))
      if (d.subset) {
        const k = `${fq(m, d.host, vs.namespace)}#${d.subset}`;
        if (!routedTo.has(k)) routedTo.set(k, `VirtualService ${id(vs)} ${field}`);
      }
  const intended = new Set(
    (m.undeployedSubsets ?? []).map((u) => `${fq(m, u.service, u.namespace)}#${u.subset}`),
  );
  const out = [];
  for (const dr of m.destinationRules) {
    const h = fq(m, dr.host, dr.namespace);
    const reg = lookupHost(m, h);
    if (reg?.type !== 'service' || h.startsWith('*')) continue;
    const ws = workloadsOf(m, reg.service);
    for (const subset of dr.subsets) {
      if (ws.some((w) => selects(subset.labels, w.podLabels))) continue;
      const k = `${h}#${subset.name}`;
      out.push({ dr, subset, service: reg.service, routed: routedTo.get(k), intended: intended.has(k) });
    }
  }
  return out;
}

export const PROTOCOLS = [
  'http',
  'http2',
  'https',
  'grpc',
  'grpc-web',
  'tcp',
  'tls',
  'mongo',
  'mysql',
  'redis',
  'udp',
];
export const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
export const PRINCIPAL = /^([^/*]+)\/ns\/([^/*]+)\/sa\/([^/*]+)$/;
