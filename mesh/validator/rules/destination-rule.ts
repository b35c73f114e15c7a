/** The rules on DestinationRule. */
import { lookupHost } from '../../model/query.js';
import type { DestinationRule } from '../../model/types.js';
import { fq, id, emptySubsets } from './shared.js';
import type { Rule } from '../rule.js';

export const destinationRuleRules: readonly Rule[] = [
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
  {
    code: 'MESH307',
    severity: 'warning',
    mirrors: ['IST0128'],
    title: 'DestinationRule TLS without server certificate verification',
    hint: 'set trafficPolicy.tls.caCertificates (or credentialName with a workloadSelector) so the server certificate is verified',
    check: (m, report) => {
      for (const dr of m.destinationRules) {
        const tls = dr.trafficPolicy?.tls;
        if (unverified(dr, tls))
          report(
            dr,
            `trafficPolicy.tls mode ${tls!.mode} to ${dr.host} has no caCertificates: the server's certificate is not verified`,
          );
      }
    },
  },
  {
    code: 'MESH308',
    severity: 'warning',
    mirrors: ['IST0129'],
    title: 'DestinationRule port TLS without server certificate verification',
    hint: 'set caCertificates in the portLevelSettings tls (or credentialName with a workloadSelector)',
    check: (m, report) => {
      for (const dr of m.destinationRules)
        dr.trafficPolicy?.portLevelSettings?.forEach((p, i) => {
          if (unverified(dr, p.tls))
            report(
              dr,
              `trafficPolicy.portLevelSettings[${i}] (port ${p.port?.number ?? '?'}) tls mode ${p.tls!.mode} has no caCertificates: the server's certificate is not verified`,
            );
        });
    },
  },
];

/** Istio's CaCertificateAnalyzer: SIMPLE or MUTUAL origination without a CA to check the server against. */
function unverified(
  dr: DestinationRule,
  tls: { mode?: string; caCertificates?: string; credentialName?: string } | undefined,
) {
  if (tls?.mode !== 'SIMPLE' && tls?.mode !== 'MUTUAL') return false;
  return !tls.caCertificates && !(tls.credentialName && dr.workloadSelector);
}
