/** The rules on Services and workloads. */
import { indexOf, workloadsOf, workloadsSelected } from '../../model/query.js';
import type { Service, ServicePort, Workload } from '../../model/types.js';
import { id, PROTOCOLS } from './shared.js';
import type { Rule } from '../rule.js';

/** Whether Istio reads a protocol from the port (its appProtocol, or its name's prefix). */
function namedForIstio(p: ServicePort): boolean {
  if (p.appProtocol) return true;
  const name = p.name.toLowerCase();
  return PROTOCOLS.includes(name.split('-')[0]!) || PROTOCOLS.includes(name.replace(/-[^-]*$/, ''));
}

/**
 * The Deployments Istio's ServiceAssociationAnalyzer looks at (in the mesh, not a waypoint), with
 * the Services of their namespace that select their pods.
 */
function meshDeployments(m: Parameters<Rule['check']>[0]): { w: Workload; services: readonly Service[] }[] {
  const ix = indexOf(m);
  return m.workloads
    .filter(
      (w) =>
        w.kind === 'Deployment' &&
        w.sidecar &&
        w.labels['gateway.istio.io/managed'] !== 'istio.io-mesh-controller',
    )
    .map((w) => ({
      w,
      services: (ix.servicesOfWorkload.get(w) ?? []).filter((s) => s.namespace === w.namespace),
    }));
}

export const workloadRules: readonly Rule[] = [
  {
    code: 'MESH601',
    severity: 'info',
    mirrors: ['IST0118'],
    title: 'port name does not follow the Istio convention',
    hint: 'name the port <protocol>[-<suffix>] (http, http2, https, grpc, tcp, tls, …) or set appProtocol',
    check: (m, report) => {
      for (const s of m.services) {
        if (s.namespace === m.rootNamespace || s.type === 'ExternalName') continue;
        for (const p of s.ports) {
          if (!namedForIstio(p))
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
        // ztunnel enforces L4 policies and mTLS on ambient pods.
        const bare = workloadsSelected(m, p.namespace, p.selector).filter((w) => !w.sidecar && !w.ambient);
        if (bare.length)
          report(
            p,
            `selects ${bare.map((w) => w.name).join(', ')}, which run without the Envoy sidecar: the ${p.kind} is not enforced there`,
          );
      }
    },
  },
  {
    code: 'MESH604',
    severity: 'warning',
    mirrors: ['IST0116'],
    title: 'Deployment behind several Services with one port under different protocols',
    hint: 'use one protocol per port number across the Services that select these pods',
    check: (m, report) => {
      for (const { w, services } of meshDeployments(m)) {
        const byPort = new Map<number, Map<string, string[]>>();
        for (const s of services)
          for (const p of s.ports) {
            const protocols = byPort.get(p.port) ?? new Map<string, string[]>();
            byPort.set(p.port, protocols);
            protocols.set(p.protocol, [...(protocols.get(p.protocol) ?? []), id(s)]);
          }
        for (const [port, protocols] of byPort)
          if (protocols.size > 1)
            report(
              w,
              `port ${port} is ${[...protocols].map(([proto, svcs]) => `${proto} in ${svcs.join(', ')}`).join(' and ')}: Services selecting the same pods must agree on a port's protocol`,
            );
      }
    },
  },
  {
    code: 'MESH605',
    severity: 'warning',
    mirrors: ['IST0137'],
    title: 'Deployment behind several Services that send different ports to one targetPort',
    hint: 'give the Services the same port for that targetPort; Envoy keys its inbound listeners on the targetPort',
    check: (m, report) => {
      for (const { w, services } of meshDeployments(m)) {
        const byTarget = new Map<string, Map<number, string>>();
        for (const s of services)
          for (const p of s.ports) {
            const target = String(p.targetPort === 0 || p.targetPort === '' ? p.port : p.targetPort);
            const ports = byTarget.get(target) ?? new Map<number, string>();
            byTarget.set(target, ports);
            ports.set(p.port, id(s));
          }
        for (const [target, ports] of byTarget)
          if (ports.size > 1)
            report(
              w,
              `targetPort ${target} is reached through ports ${[...ports.keys()].sort((a, b) => a - b).join(', ')} of ${[...new Set(ports.values())].sort().join(', ')}`,
            );
      }
    },
  },
  {
    code: 'MESH606',
    severity: 'warning',
    mirrors: ['IST0150'],
    title: 'ExternalName Service port name without a protocol Istio knows',
    hint: 'name the ports of an ExternalName Service for their protocol (http, https, tls, …, not tcp) or set appProtocol; otherwise Istio treats the traffic as opaque TCP',
    check: (m, report) => {
      for (const s of m.services) {
        if (s.type !== 'ExternalName' || s.namespace === m.rootNamespace) continue;
        s.ports.forEach((p, i) => {
          if (!namedForIstio(p) || p.name === 'tcp')
            report(
              s,
              `ports[${i}] (${p.name || 'no name'}, port ${p.port}) of an ExternalName Service does not name its protocol`,
            );
        });
      }
    },
  },
];
