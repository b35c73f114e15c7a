/**
 * The rule table: every check the whole-mesh validator runs, with its stable code, severity,
 * the upstream code it mirrors (istioctl analyze `IST…`, Kiali `KIA…`, or Istio's own admission
 * validation), the hint, and the check itself. The checks read only the {@link MeshModel}.
 */
import { durationMs } from '../explain/explain.js';
import { deniedDeclaredCalls, undeclaredAllowances } from '../explain/reachability.js';
import {
  containerPortOf,
  destinationRuleFor,
  effectiveMtls,
  hostMatches,
  hostsOverlap,
  indexOf,
  lookupHost,
  resolveHost,
  selects,
  workloadsOf,
  workloadsSelected,
} from '../model/query.js';
import type {
  Destination,
  DestinationRule,
  Entry,
  HttpRoute,
  MeshModel,
  TlsMode,
  VirtualService,
  Workload,
} from '../model/types.js';
import type { RuleInfo } from './finding.js';
import { injectionRule } from './injection.js';

/** Reports one finding of the running rule on an object. */
export type Report = (on: Entry, message: string, hint?: string) => void;

export interface Rule extends RuleInfo {
  readonly check: (model: MeshModel, report: Report) => void;
}

const fq = (m: MeshModel, host: string, ns: string) => resolveHost(host, ns, m.clusterDomain);
const id = (e: Entry) => `${e.namespace}/${e.name}`;

/** Every destination a VirtualService names, with the field it is in. */
function destinationsOf(vs: VirtualService): { d: Destination; field: string; route?: HttpRoute }[] {
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

function gatewayOf(m: MeshModel, ref: string, vsNs: string) {
  const [ns, name] = ref.includes('/')
    ? ref.split('/', 2)
    : ref.includes('.')
      ? [ref.split('.')[1], ref.split('.')[0]]
      : [vsNs, ref];
  return m.gateways.find((g) => g.namespace === ns && g.name === name);
}

/** JSON with sorted keys at every level, so equal matches compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function drTls(dr: DestinationRule): { mode: TlsMode; where: string }[] {
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
function drWorkloads(m: MeshModel, dr: DestinationRule): Workload[] {
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
function emptySubsets(m: MeshModel): EmptySubset[] {
  let found = emptySubsetsOf.get(m);
  if (!found) emptySubsetsOf.set(m, (found = findEmptySubsets(m)));
  return found;
}
type EmptySubset = ReturnType<typeof findEmptySubsets>[number];
/** MESH301 and MESH306 read the same list: computed once per model. */
const emptySubsetsOf = new WeakMap<MeshModel, EmptySubset[]>();

function findEmptySubsets(m: MeshModel) {
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

const PROTOCOLS = [
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
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const PRINCIPAL = /^([^/*]+)\/ns\/([^/*]+)\/sa\/([^/*]+)$/;

export const RULES: readonly Rule[] = [
  // ---- VirtualService ----------------------------------------------------------------------
  {
    code: 'MESH101',
    severity: 'error',
    mirrors: ['IST0101', 'KIA1101'],
    title: 'route destination host not found',
    hint: 'name an existing Service (short name in the VirtualService namespace, or its FQDN) or add a ServiceEntry',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        for (const { d, field } of destinationsOf(vs)) {
          const h = fq(m, d.host, vs.namespace);
          if (!lookupHost(m, h))
            report(vs, `${field}: destination host ${d.host} (${h}) is neither a Service nor a ServiceEntry`);
        }
      }
    },
  },
  {
    code: 'MESH102',
    severity: 'error',
    mirrors: ['IST0101', 'KIA1107'],
    title: 'route destination subset not found',
    hint: 'declare the subset in the DestinationRule of the host, or route to an existing subset',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        for (const { d, field } of destinationsOf(vs)) {
          if (!d.subset) continue;
          const h = fq(m, d.host, vs.namespace);
          if (!lookupHost(m, h)) continue; // MESH101
          const dr = destinationRuleFor(m, h, vs.namespace);
          if (!dr?.subsets.some((s) => s.name === d.subset)) {
            report(
              vs,
              `${field}: subset ${d.subset} of ${d.host} is not defined${dr ? ` in DestinationRule ${id(dr)} (subsets: ${dr.subsets.map((s) => s.name).join(', ') || 'none'})` : ' (no DestinationRule for the host)'}`,
            );
          }
        }
      }
    },
  },
  {
    code: 'MESH103',
    severity: 'error',
    mirrors: ['IST0101', 'KIA1102'],
    title: 'VirtualService gateway not found',
    hint: "create the Gateway, fix the reference (`name` in the VirtualService namespace or `namespace/name`), or use 'mesh'",
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        for (const g of vs.gateways) {
          if (g !== 'mesh' && !gatewayOf(m, g, vs.namespace)) report(vs, `gateway ${g} not found`);
        }
      }
    },
  },
  {
    code: 'MESH104',
    severity: 'warning',
    mirrors: ['IST0132'],
    title: 'VirtualService host not served by its Gateway',
    hint: "add the host to one of the Gateway's servers, or remove it from the VirtualService",
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        for (const g of vs.gateways) {
          const gw = g === 'mesh' ? undefined : gatewayOf(m, g, vs.namespace);
          if (!gw) continue;
          const served = gw.servers.flatMap((s) =>
            s.hosts.map((h) => (h.includes('/') ? h.split('/')[1]! : h)),
          );
          const missing = vs.hosts.filter((h) => !served.some((s) => hostMatches(s, h)));
          if (missing.length)
            report(
              vs,
              `host ${missing.join(', ')} not found in Gateway ${id(gw)} (serves ${served.join(', ') || 'nothing'})`,
            );
        }
      }
    },
  },
  {
    code: 'MESH105',
    severity: 'warning',
    mirrors: ['IST0130'],
    title: 'unreachable route rule',
    hint: 'only the last rule can match everything: move the catch-all rule last or give it a match',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        const catchAll = vs.http.findIndex(
          (r) => !r.match?.length || r.match.some((x) => Object.keys(x ?? {}).length === 0),
        );
        if (catchAll >= 0 && catchAll < vs.http.length - 1) {
          for (let i = catchAll + 1; i < vs.http.length; i++) {
            report(vs, `rule #${i} is never used: rule #${catchAll} before it matches every request`);
          }
        }
      }
    },
  },
  {
    code: 'MESH106',
    severity: 'info',
    mirrors: ['IST0131'],
    title: 'ineffective match',
    hint: 'remove the duplicate match or make it more specific than the earlier one',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        const seen = new Map<string, string>();
        vs.http.forEach((r, i) =>
          (r.match ?? []).forEach((mt, j) => {
            const { name: _n, ...rest } = mt ?? {};
            const k = canonical(rest);
            const before = seen.get(k);
            if (before) report(vs, `rule #${i} match #${j} is never used: identical to ${before}`);
            else seen.set(k, `rule #${i} match #${j}`);
          }),
        );
      }
    },
  },
  {
    code: 'MESH107',
    severity: 'error',
    mirrors: ['IST0109', 'KIA1106'],
    title: 'more than one VirtualService for a host',
    hint: 'merge the routes into one VirtualService per host (Istio uses only one of them)',
    check: (m, report) => {
      const byHost = new Map<string, VirtualService[]>();
      for (const vs of m.virtualServices) {
        if (vs.gateways.length && !vs.gateways.includes('mesh')) continue;
        for (const h of vs.hosts) {
          const k = fq(m, h, vs.namespace);
          byHost.set(k, [...(byHost.get(k) ?? []), vs]);
        }
      }
      for (const [h, list] of byHost) {
        if (list.length < 2) continue;
        for (const vs of list.slice(1))
          report(vs, `host ${h} is also routed by VirtualService ${id(list[0]!)}`);
      }
    },
  },
  {
    code: 'MESH108',
    severity: 'warning',
    mirrors: [],
    title: 'route weights do not sum to 100',
    hint: 'give the destinations integer weights summing to 100 (Istio would scale them)',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const ds = r.route ?? [];
          if (ds.length < 2) return;
          const sum = ds.reduce((s, d) => s + (d.weight ?? 0), 0);
          if (sum !== 100) {
            report(
              vs,
              `http[${i}]: weights sum to ${sum} (${ds.map((d) => `${d.destination?.subset ?? d.destination?.host}=${d.weight ?? 0}`).join(', ')}); they must sum to 100`,
            );
          }
        });
      }
    },
  },
  {
    code: 'MESH109',
    severity: 'info',
    mirrors: ['KIA1104'],
    title: 'single destination with a weight below 100',
    hint: 'drop the weight: a single destination receives all the traffic',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const ds = r.route ?? [];
          if (ds.length === 1 && ds[0]!.weight !== undefined && ds[0]!.weight !== 100) {
            report(
              vs,
              `http[${i}]: the only destination has weight ${ds[0]!.weight}; it receives 100% anyway`,
            );
          }
        });
      }
    },
  },
  {
    code: 'MESH110',
    severity: 'warning',
    mirrors: ['KIA1105'],
    title: 'same host and subset twice in one route',
    hint: 'merge the two destinations into one with the summed weight',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const seen = new Set<string>();
          for (const d of r.route ?? []) {
            const k = `${fq(m, d.destination?.host ?? '', vs.namespace)}|${d.destination?.subset ?? ''}|${d.destination?.port?.number ?? ''}`;
            if (seen.has(k))
              report(
                vs,
                `http[${i}]: destination ${d.destination?.host}${d.destination?.subset ? ` subset ${d.destination.subset}` : ''} appears twice`,
              );
            seen.add(k);
          }
        });
      }
    },
  },
  {
    code: 'MESH111',
    severity: 'error',
    mirrors: ['istio-validation'],
    title: 'fault injection out of range',
    hint: 'percentages are in [0, 100]; abort httpStatus is an HTTP status (200-599); a delay needs fixedDelay',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const f = r.fault;
          if (!f) return;
          const bad = (p: number | undefined) => p !== undefined && (p < 0 || p > 100);
          if (bad(f.delay?.percentage?.value))
            report(
              vs,
              `http[${i}].fault.delay.percentage is ${f.delay!.percentage!.value}; it must be in [0, 100]`,
            );
          if (bad(f.abort?.percentage?.value))
            report(
              vs,
              `http[${i}].fault.abort.percentage is ${f.abort!.percentage!.value}; it must be in [0, 100]`,
            );
          const s = f.abort?.httpStatus;
          if (f.abort && s !== undefined && (s < 200 || s > 599))
            report(vs, `http[${i}].fault.abort.httpStatus is ${s}; it must be an HTTP status in 200-599`);
          if (f.delay && durationMs(f.delay.fixedDelay) === undefined)
            report(
              vs,
              `http[${i}].fault.delay.fixedDelay is ${f.delay.fixedDelay ?? 'missing'}; expected a duration like 7s`,
            );
        });
      }
    },
  },
  {
    code: 'MESH112',
    severity: 'warning',
    mirrors: [],
    title: "fault delay longer than the caller's timeout",
    hint: "the caller's callers give up before the delayed answer arrives: shorten the delay or raise the timeout (Bookinfo's lesson)",
    check: (m, report) => {
      if (!m.calls) return;
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const delay = durationMs(r.fault?.delay?.fixedDelay);
          if (delay === undefined) return;
          const targets = new Set((r.route ?? []).map((d) => fq(m, d.destination.host, vs.namespace)));
          const callers = m.calls!.filter((c) => targets.has(fq(m, c.to.name, c.to.namespace)));
          for (const c of callers) {
            const callerHost = fq(m, c.from.name, c.from.namespace);
            for (const up of m.virtualServices) {
              up.http.forEach((ur, j) => {
                const t = durationMs(ur.timeout);
                if (t === undefined || t > delay) return;
                if (!(ur.route ?? []).some((d) => fq(m, d.destination.host, up.namespace) === callerHost))
                  return;
                report(
                  vs,
                  `http[${i}] delays calls from ${c.from.name} by ${r.fault!.delay!.fixedDelay}, but calls to ${c.from.name} time out after ${ur.timeout} (VirtualService ${id(up)} http[${j}])`,
                );
              });
            }
          }
        });
      }
    },
  },
  {
    code: 'MESH113',
    severity: 'warning',
    mirrors: [],
    title: 'per-try timeout not shorter than the route timeout',
    hint: 'make perTryTimeout shorter than timeout, or retries never get a chance',
    check: (m, report) => {
      for (const vs of m.virtualServices) {
        vs.http.forEach((r, i) => {
          const t = durationMs(r.timeout);
          const p = durationMs(r.retries?.perTryTimeout);
          if (t !== undefined && p !== undefined && (r.retries?.attempts ?? 0) > 0 && p >= t) {
            report(
              vs,
              `http[${i}]: perTryTimeout ${r.retries!.perTryTimeout} ≥ timeout ${r.timeout}: no retry can happen`,
            );
          }
        });
      }
    },
  },
  // ---- Gateway -----------------------------------------------------------------------------
  {
    code: 'MESH201',
    severity: 'error',
    mirrors: ['IST0145', 'KIA0301'],
    title: 'conflicting gateways (same selector, port and host)',
    hint: 'serve each host:port once per gateway workload: merge the servers or make the hosts distinct',
    check: (m, report) => {
      const gws = m.gateways;
      for (let a = 0; a < gws.length; a++) {
        for (let b = a + 1; b < gws.length; b++) {
          const ga = gws[a]!;
          const gb = gws[b]!;
          if (JSON.stringify(ga.selector) !== JSON.stringify(gb.selector)) continue;
          for (const sa of ga.servers) {
            for (const sb of gb.servers) {
              if (sa.port.number !== sb.port.number) continue;
              const hosts = sa.hosts.filter((h) => sb.hosts.some((k) => hostsOverlap(h, k)));
              if (hosts.length) {
                report(
                  gb,
                  `conflicts with Gateway ${id(ga)} (selector ${JSON.stringify(ga.selector)}, port ${sa.port.number}, hosts ${hosts.join(', ')})`,
                );
              }
            }
          }
        }
      }
    },
  },
  {
    code: 'MESH202',
    severity: 'error',
    mirrors: ['istio-validation'],
    title: 'HTTPS/TLS server without TLS settings',
    hint: 'give the server tls.mode (SIMPLE or MUTUAL with credentialName, or PASSTHROUGH)',
    check: (m, report) => {
      for (const g of m.gateways) {
        g.servers.forEach((s, i) => {
          if (s.port.protocol !== 'HTTPS' && s.port.protocol !== 'TLS') return;
          const mode = s.tls?.mode;
          if (!mode) report(g, `servers[${i}] (${s.port.protocol} ${s.port.number}) has no tls settings`);
          else if ((mode === 'SIMPLE' || mode === 'MUTUAL') && !s.tls?.credentialName)
            report(g, `servers[${i}] (tls ${mode}) has no credentialName`);
        });
      }
    },
  },
  // ---- DestinationRule ---------------------------------------------------------------------
  {
    code: 'MESH301',
    severity: 'warning',
    mirrors: ['IST0173', 'KIA0203'],
    title: 'subset selects no workload',
    hint: "deploy pods with the subset's labels, or fix the labels (a route to this subset answers 503)",
    check: (m, report) => {
      for (const { dr, subset, service, routed, intended } of emptySubsets(m))
        if (routed || !intended)
          report(
            dr,
            `subset ${subset.name} (${JSON.stringify(subset.labels)}) selects no workload of Service ${id(service)}${routed ? `; routed to by ${routed}` : ''}`,
          );
    },
  },
  {
    code: 'MESH306',
    severity: 'info',
    mirrors: ['IST0173', 'KIA0203'],
    title: 'subset declared without deployment, and no route uses it',
    hint: 'nothing to do while no route sends to it; deploy the version (drop deploy: false) before routing to it',
    check: (m, report) => {
      for (const { dr, subset, service, routed, intended } of emptySubsets(m))
        if (!routed && intended)
          report(
            dr,
            `subset ${subset.name} of Service ${id(service)} has no workload: the App declares it with deploy: false`,
          );
    },
  },
  {
    code: 'MESH302',
    severity: 'warning',
    mirrors: ['KIA0201'],
    title: 'more than one DestinationRule for a host and subset',
    hint: 'keep one DestinationRule per host in a namespace; Istio merges them unpredictably',
    check: (m, report) => {
      const seen = new Map<string, DestinationRule>();
      for (const dr of m.destinationRules) {
        if (dr.workloadSelector) continue;
        const h = fq(m, dr.host, dr.namespace);
        const keys = dr.subsets.length
          ? dr.subsets.map((s) => `${dr.namespace}|${h}|${s.name}`)
          : [`${dr.namespace}|${h}|`];
        for (const k of keys) {
          const other = seen.get(k);
          if (other && other !== dr)
            report(
              dr,
              `host ${h}${k.endsWith('|') ? '' : ` subset ${k.split('|')[2]}`} is also configured by DestinationRule ${id(other)}`,
            );
          else seen.set(k, dr);
        }
      }
    },
  },
  {
    code: 'MESH303',
    severity: 'warning',
    mirrors: ['KIA0202'],
    title: 'DestinationRule host not found',
    hint: 'name an existing Service or ServiceEntry host',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const h = fq(m, dr.host, dr.namespace);
        if (!h.startsWith('*') && !lookupHost(m, h))
          report(dr, `host ${dr.host} (${h}) is neither a Service nor a ServiceEntry`);
      }
    },
  },
  {
    code: 'MESH304',
    severity: 'error',
    mirrors: ['istio-validation'],
    title: 'duplicate subset name',
    hint: 'give every subset of a DestinationRule a distinct name',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const names = dr.subsets.map((s) => s.name);
        const dups = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
        if (dups.length) report(dr, `subset ${dups.join(', ')} is declared more than once`);
      }
    },
  },
  {
    code: 'MESH305',
    severity: 'warning',
    mirrors: ['KIA0209'],
    title: 'subset without labels',
    hint: 'give the subset the labels of its pods (e.g. version: v2); without labels it is the whole Service',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        for (const s of dr.subsets)
          if (!Object.keys(s.labels).length) report(dr, `subset ${s.name} has no labels`);
      }
    },
  },
  // ---- mTLS --------------------------------------------------------------------------------
  {
    code: 'MESH401',
    severity: 'error',
    mirrors: ['KIA0207'],
    title: 'DestinationRule disables TLS to a STRICT workload',
    hint: 'remove tls.mode DISABLE from the DestinationRule, or make the PeerAuthentication PERMISSIVE',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const off = drTls(dr).filter((t) => t.mode === 'DISABLE');
        if (!off.length) continue;
        const strict = drWorkloads(m, dr).find((w) => {
          const e = effectiveMtls(m, w);
          return w.sidecar && e.mode === 'STRICT' && e.scope !== 'mesh';
        });
        if (strict) {
          const e = effectiveMtls(m, strict);
          report(
            dr,
            `${off.map((o) => o.where).join(', ')} sends plain text to ${strict.name}, whose PeerAuthentication ${e.decidedBy} is STRICT: requests fail`,
          );
        }
      }
    },
  },
  {
    code: 'MESH402',
    severity: 'error',
    mirrors: ['KIA0208'],
    title: 'DestinationRule disables TLS under mesh-wide STRICT',
    hint: 'make the mesh-wide PeerAuthentication PERMISSIVE, or add a PERMISSIVE policy for the namespace/workload',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const off = drTls(dr).filter((t) => t.mode === 'DISABLE');
        if (!off.length) continue;
        const w = drWorkloads(m, dr).find(
          (x) => x.sidecar && effectiveMtls(m, x).scope === 'mesh' && effectiveMtls(m, x).mode === 'STRICT',
        );
        if (w)
          report(
            dr,
            `${off.map((o) => o.where).join(', ')} sends plain text to ${w.name}, but mesh-wide PeerAuthentication ${effectiveMtls(m, w).decidedBy} is STRICT`,
          );
      }
    },
  },
  {
    code: 'MESH403',
    severity: 'error',
    mirrors: ['KIA0205', 'KIA0206'],
    title: 'DestinationRule requires mTLS to a workload that disables it',
    hint: 'enable mTLS on the workload (PeerAuthentication PERMISSIVE or STRICT) or drop ISTIO_MUTUAL',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const on = drTls(dr).filter((t) => t.mode === 'ISTIO_MUTUAL');
        if (!on.length) continue;
        const w = drWorkloads(m, dr).find((x) => !x.sidecar || effectiveMtls(m, x).mode === 'DISABLE');
        if (w) {
          report(
            dr,
            `${on.map((o) => o.where).join(', ')} sends Istio mTLS to ${w.name}, which ${w.sidecar ? `has mTLS DISABLE (${effectiveMtls(m, w).decidedBy})` : 'has no sidecar'}: requests fail`,
          );
        }
      }
    },
  },
  {
    code: 'MESH404',
    severity: 'info',
    mirrors: ['KIA0501'],
    title: 'STRICT namespace relies on auto mTLS',
    hint: 'fine with auto mTLS (the default); with autoMtls off add a DestinationRule with tls.mode ISTIO_MUTUAL',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector || pa.mode !== 'STRICT' || pa.namespace === m.rootNamespace) continue;
        const covered = m.destinationRules.some(
          (dr) =>
            drTls(dr).some((t) => t.mode === 'ISTIO_MUTUAL') &&
            hostMatches(fq(m, dr.host, dr.namespace), `x.${pa.namespace}.svc.${m.clusterDomain}`),
        );
        if (!covered)
          report(
            pa,
            `namespace ${pa.namespace} is STRICT and no DestinationRule enables mTLS for it: clients depend on auto mTLS`,
          );
      }
    },
  },
  {
    code: 'MESH405',
    severity: 'info',
    mirrors: ['KIA0505'],
    title: 'mTLS-disabled namespace relies on auto mTLS',
    hint: 'fine with auto mTLS (the default); with autoMtls off add a DestinationRule with tls.mode DISABLE',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector || pa.mode !== 'DISABLE' || pa.namespace === m.rootNamespace) continue;
        const covered = m.destinationRules.some(
          (dr) =>
            drTls(dr).some((t) => t.mode === 'DISABLE') &&
            hostMatches(fq(m, dr.host, dr.namespace), `x.${pa.namespace}.svc.${m.clusterDomain}`),
        );
        if (!covered)
          report(
            pa,
            `namespace ${pa.namespace} disables mTLS and no DestinationRule disables it for clients: they depend on auto mTLS`,
          );
      }
    },
  },
  {
    code: 'MESH406',
    severity: 'error',
    mirrors: ['istio-validation'],
    title: 'portLevelMtls without a workload selector',
    hint: 'port-level mTLS needs a selector: add spec.selector.matchLabels for the workload',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (!pa.selector && Object.keys(pa.portLevelMtls).length)
          report(
            pa,
            `portLevelMtls (${Object.keys(pa.portLevelMtls).join(', ')}) is set on a namespace or mesh-wide policy`,
          );
      }
    },
  },
  {
    code: 'MESH407',
    severity: 'warning',
    mirrors: [],
    title: 'portLevelMtls port is not a container port',
    hint: 'portLevelMtls keys are the container (target) port, not the Service port',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (!pa.selector) continue;
        const ws = workloadsSelected(m, pa.namespace, pa.selector);
        if (!ws.length) continue;
        const ports = new Set(ws.flatMap((w) => w.containerPorts));
        if (!ports.size) continue;
        for (const p of Object.keys(pa.portLevelMtls)) {
          if (!ports.has(Number(p))) {
            const svcPort = m.services.find(
              (s) => s.namespace === pa.namespace && s.ports.some((x) => String(x.port) === p),
            );
            report(
              pa,
              `port ${p} is not a container port of ${ws.map((w) => w.name).join(', ')} (container ports: ${[...ports].join(', ')})${svcPort ? `; ${p} is a port of Service ${svcPort.name}, whose target port is ${containerPortOf(svcPort, Number(p))}` : ''}`,
            );
          }
        }
      }
    },
  },
  {
    code: 'MESH408',
    severity: 'warning',
    mirrors: ['IST0127'],
    title: 'PeerAuthentication selector matches no workload',
    hint: 'fix the labels of spec.selector.matchLabels',
    check: (m, report) => {
      for (const pa of m.peerAuthentications) {
        if (pa.selector && !workloadsSelected(m, pa.namespace, pa.selector).length)
          report(pa, `no workload in ${pa.namespace} has the labels ${JSON.stringify(pa.selector)}`);
      }
    },
  },
  // ---- AuthorizationPolicy -----------------------------------------------------------------
  {
    code: 'MESH501',
    severity: 'warning',
    mirrors: ['IST0127', 'KIA0004'],
    title: 'AuthorizationPolicy selector matches no workload',
    hint: 'fix the labels of spec.selector.matchLabels',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        if (p.selector && !workloadsSelected(m, p.namespace, p.selector).length)
          report(
            p,
            `no workload in ${p.namespace === m.rootNamespace ? 'the mesh' : p.namespace} has the labels ${JSON.stringify(p.selector)}`,
          );
      }
    },
  },
  {
    code: 'MESH502',
    severity: 'warning',
    mirrors: ['KIA0106'],
    title: 'principal whose ServiceAccount does not exist',
    hint: 'principals are <trustDomain>/ns/<namespace>/sa/<serviceAccount>: fix the name or create the ServiceAccount',
    check: (m, report) => {
      const ix = indexOf(m);
      const used = new Set(m.workloads.map((w) => `${w.namespace}/${w.serviceAccountName}`));
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.from ?? []).forEach((f) =>
            [...(f.source?.principals ?? []), ...(f.source?.notPrincipals ?? [])].forEach((pr) => {
              const mt = PRINCIPAL.exec(pr);
              if (!mt) return;
              const [, , ns, sa] = mt;
              if (!m.knownNamespaces.has(ns!) || sa === 'default') return;
              if (!ix.serviceAccounts.has(`${ns}/${sa}`) && !used.has(`${ns}/${sa}`))
                report(p, `rules[${i}]: principal ${pr}: ServiceAccount ${ns}/${sa} not found`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH503',
    severity: 'warning',
    mirrors: ['KIA0101'],
    title: 'source namespace not found',
    hint: 'fix the namespace name in source.namespaces',
    check: (m, report) => {
      if (!m.namespaces.length) return;
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.from ?? []).forEach((f) =>
            (f.source?.namespaces ?? []).forEach((ns) => {
              if (!ns.includes('*') && !m.knownNamespaces.has(ns))
                report(p, `rules[${i}]: namespace ${ns} not found`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH504',
    severity: 'error',
    mirrors: ['KIA0102'],
    title: 'invalid HTTP method',
    hint: 'methods are upper-case HTTP methods (GET, POST, …) or fully-qualified gRPC names',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        p.rules.forEach((r, i) =>
          (r.to ?? []).forEach((t) =>
            [...(t.operation?.methods ?? []), ...(t.operation?.notMethods ?? [])].forEach((meth) => {
              if (!METHODS.has(meth) && !meth.includes('/') && meth !== '*')
                report(p, `rules[${i}]: method ${meth} is not an HTTP method`);
            }),
          ),
        );
      }
    },
  },
  {
    code: 'MESH505',
    severity: 'warning',
    mirrors: ['KIA0105'],
    title: 'identity-based rule on a workload without mTLS',
    hint: 'principals and namespaces need mTLS: enable it (PeerAuthentication STRICT or PERMISSIVE) on the workload',
    check: (m, report) => {
      for (const p of m.authorizationPolicies) {
        const needs = p.rules.some((r) =>
          (r.from ?? []).some(
            (f) =>
              f.source?.principals ||
              f.source?.namespaces ||
              f.source?.notPrincipals ||
              f.source?.notNamespaces,
          ),
        );
        if (!needs) continue;
        const off = workloadsSelected(m, p.namespace, p.selector).find(
          (w) => w.sidecar && effectiveMtls(m, w).mode === 'DISABLE',
        );
        if (off)
          report(
            p,
            `uses principals or namespaces, but ${off.name} has mTLS DISABLE (${effectiveMtls(m, off).decidedBy}): those rules never match`,
          );
      }
    },
  },
  {
    code: 'MESH506',
    severity: 'error',
    mirrors: [],
    title: 'declared call denied by the policies',
    hint: 'allow the caller on the callee (ZeroTrustPolicy derives this from app.calls), or remove the declared call',
    check: (m, report) => {
      for (const d of deniedDeclaredCalls(m))
        report(
          d.policy ?? d.service,
          `${d.call.from.name} → ${d.call.to.name} (${d.method} ${d.path}) is declared but denied on ${d.workload.name}: ${d.result.reason}`,
        );
    },
  },
  {
    code: 'MESH507',
    severity: 'warning',
    mirrors: [],
    title: 'policy allows a caller no declared call needs',
    hint: 'remove the principal from the policy, or declare the call (app.calls(other))',
    check: (m, report) => {
      for (const u of undeclaredAllowances(m))
        report(
          u.policy,
          `rules[${u.rule}] allows ${u.principal}, but no declared call from it reaches ${u.callees.join(', ') || 'the selected workloads'}`,
        );
    },
  },
  // ---- Services and workloads --------------------------------------------------------------
  {
    code: 'MESH601',
    severity: 'info',
    mirrors: ['IST0118'],
    title: 'port name does not follow the Istio convention',
    hint: 'name the port <protocol>[-<suffix>] (http, http2, https, grpc, tcp, tls, …) or set appProtocol',
    check: (m, report) => {
      for (const s of m.services) {
        if (s.namespace === m.rootNamespace) continue;
        for (const p of s.ports) {
          if (p.appProtocol) continue;
          const proto = p.name.toLowerCase().split('-')[0]!;
          const ok =
            PROTOCOLS.includes(proto) || PROTOCOLS.includes(p.name.toLowerCase().replace(/-[^-]*$/, ''));
          if (!ok)
            report(
              s,
              `port name ${p.name || '(none)'} (port: ${p.port}, targetPort: ${p.targetPort}) doesn't follow the naming convention of Istio port`,
            );
        }
      }
    },
  },
  {
    code: 'MESH602',
    severity: 'warning',
    mirrors: [],
    title: 'Service selects no workload',
    hint: "deploy pods with the Service's selector labels, or fix the selector",
    check: (m, report) => {
      if (!m.workloads.length) return;
      for (const s of m.services) {
        if (s.selector && Object.keys(s.selector).length && !workloadsOf(m, s).length)
          report(s, `selector ${JSON.stringify(s.selector)} matches no workload in ${s.namespace}`);
      }
    },
  },
  {
    code: 'MESH603',
    severity: 'warning',
    mirrors: ['IST0103'],
    title: 'policy targets a workload without sidecar',
    hint: 'inject the sidecar (remove sidecar.istio.io/inject: "false"), or the policy has no effect',
    check: (m, report) => {
      for (const p of [...m.authorizationPolicies, ...m.peerAuthentications]) {
        if (!p.selector) continue;
        const bare = workloadsSelected(m, p.namespace, p.selector).filter((w) => !w.sidecar);
        if (bare.length)
          report(
            p,
            `selects ${bare.map((w) => w.name).join(', ')}, which run without the Envoy sidecar: the ${p.kind} is not enforced there`,
          );
      }
    },
  },
  // ---- EnvoyFilter -------------------------------------------------------------------------
  {
    code: 'MESH701',
    severity: 'warning',
    mirrors: ['IST0151'],
    title: 'relative EnvoyFilter patch without priority',
    hint: 'set spec.priority, or use INSERT_FIRST/ADD, so the relative patch has a defined order',
    check: (m, report) => {
      for (const f of m.envoyFilters) {
        const rel = f.patches.filter(
          (p) =>
            p.operation === 'INSERT_BEFORE' || p.operation === 'INSERT_AFTER' || p.operation === 'REPLACE',
        );
        if (rel.length && f.priority === undefined)
          report(
            f,
            `has a relative patch (${rel.map((p) => p.operation).join(', ')}) and no priority: it may not be applied`,
          );
      }
    },
  },
  {
    code: 'MESH702',
    severity: 'warning',
    mirrors: ['IST0127'],
    title: 'EnvoyFilter workloadSelector matches no workload',
    hint: 'fix the labels of spec.workloadSelector.labels',
    check: (m, report) => {
      for (const f of m.envoyFilters) {
        if (f.selector && !workloadsSelected(m, f.namespace, f.selector).length)
          report(f, `no workload in ${f.namespace} has the labels ${JSON.stringify(f.selector)}`);
      }
    },
  },
  // ---- Namespace ---------------------------------------------------------------------------
  {
    code: 'MESH801',
    severity: 'info',
    mirrors: ['IST0102'],
    title: 'namespace not enabled for sidecar injection',
    hint: "label it: kubectl label namespace <ns> istio-injection=enabled (or 'disabled' to say it is intended)",
    check: (m, report) => {
      for (const n of m.namespaces) {
        if (n.name === m.rootNamespace) continue;
        if (n.labels['istio-injection'] === undefined && n.labels['istio.io/rev'] === undefined)
          report(n, `namespace ${n.name} is not enabled for Istio injection`);
      }
    },
  },
  injectionRule,
];
