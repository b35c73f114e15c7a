/** The rules on Services and workloads. */
import { workloadsOf, workloadsSelected } from '../../model/query.js';
import { PROTOCOLS } from './shared.js';
import type { Rule } from '../rule.js';

export const workloadRules: readonly Rule[] = [
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
];
