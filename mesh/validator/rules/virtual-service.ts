/** The rules on VirtualService. */
import { durationMs } from '../../../api/duration.js';
import { destinationWeights } from '../../../api/route-weights.js';
import { destinationRuleFor, hostMatches, lookupHost } from '../../model/query.js';
import type { VirtualService } from '../../model/types.js';
import { fq, id, destinationsOf, gatewayOf, canonical } from './shared.js';
import type { Rule } from '../rule.js';

export const virtualServiceRules: readonly Rule[] = [
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
      for (const [h, all] of byHost) {
        const list = [...new Set(all)];
        if (list.length < 2) continue;
        // Every VirtualService of the host is named (as istioctl does), each with the others.
        for (const vs of list)
          report(
            vs,
            `host ${h} is also routed by ${list
              .filter((o) => o !== vs)
              .map((o) => `VirtualService ${id(o)}`)
              .join(', ')}`,
          );
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
          const weights = destinationWeights(ds);
          const sum = weights.reduce((s, w) => s + w, 0);
          if (sum !== 100) {
            report(
              vs,
              `http[${i}]: weights sum to ${sum} (${ds.map((d, j) => `${d.destination?.subset ?? d.destination?.host}=${weights[j]}`).join(', ')}); they must sum to 100`,
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
          const weights = destinationWeights(ds);
          ds.forEach((d, j) => {
            if (d.weight !== undefined && d.weight !== weights[j])
              report(
                vs,
                `http[${i}]: the only destination has weight ${d.weight}; it receives ${weights[j]}% anyway`,
              );
          });
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
          // The CRD's own rule: `duration(self) >= duration('1ms')`.
          const delay = durationMs(f.delay?.fixedDelay);
          if (f.delay && !(delay !== undefined && delay >= 1))
            report(
              vs,
              `http[${i}].fault.delay.fixedDelay is ${f.delay.fixedDelay ?? 'missing'}; expected a duration of at least 1ms like 7s`,
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
];
