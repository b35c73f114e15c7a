/** The rules on Gateway. */
import { hostsOverlap, indexOf, selects, workloadsSelected } from '../../model/query.js';
import type { Gateway, GatewayServer, Labels, MeshModel, Workload } from '../../model/types.js';
import { id } from './shared.js';
import type { Rule } from '../rule.js';

/** `k=v,k2=v2`, sorted: how Istio prints (and compares) a label selector. */
export const selectorString = (s: Labels | undefined) =>
  Object.entries(s ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** The workloads of any namespace a Gateway's selector picks (Istio's default gateway scope). */
const gatewayWorkloads = (m: MeshModel, g: Gateway): Workload[] =>
  Object.keys(g.selector).length ? workloadsSelected(m, m.rootNamespace, g.selector) : [];

/**
 * Whether the inputs can be expected to hold the gateways' pods: a cluster, or files that include
 * workloads of the root namespace (where Istio's gateways run). A mesh written with the constructs
 * does not include the Istio installation, so its gateways' selectors are not judged.
 */
const gatewayPodsKnown = (m: MeshModel) =>
  m.workloads.some((w) => w.namespace === m.rootNamespace || w.origin.cluster !== undefined);

/** Whether two Gateways share their workload, as Istio's ConflictingGatewayAnalyzer decides it. */
function sameWorkload(m: MeshModel, a: Gateway, b: Gateway): boolean {
  const sa = selectorString(a.selector);
  const sb = selectorString(b.selector);
  if (sa === sb) return true;
  if (!sa.includes(sb) && !sb.includes(sa)) return false;
  return m.workloads.some((w) => selects(a.selector, w.podLabels) && selects(b.selector, w.podLabels));
}

export const gatewayRules: readonly Rule[] = [
  {
    code: 'MESH201',
    severity: 'error',
    mirrors: ['IST0145', 'KIA0301'],
    title: 'conflicting gateways (same workload, port and host)',
    hint: 'serve each host:port once per gateway workload: merge the servers or make the hosts distinct',
    check: (m, report) => {
      for (const g of m.gateways) {
        g.servers.forEach((s, i) => {
          const others = m.gateways.filter(
            (o) =>
              o !== g &&
              sameWorkload(m, g, o) &&
              o.servers.some(
                (os) =>
                  os.port.number === s.port.number &&
                  os.hosts.some((h) => s.hosts.some((k) => hostsOverlap(h, k))),
              ),
          );
          if (!others.length) return;
          report(
            g,
            `servers[${i}] (port ${s.port.number}, hosts ${s.hosts.join(', ')}) conflicts with ${others
              .map((o) => `Gateway ${id(o)} (selector ${JSON.stringify(o.selector)})`)
              .join(', ')}: the same workload serves both`,
          );
        });
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
  {
    code: 'MESH203',
    severity: 'warning',
    mirrors: ['IST0162'],
    title: "Gateway port not exposed by the gateway workload's Service",
    hint: 'add the port to the Service of the gateway workload (its targetPort is the port Envoy listens on), or use a port it exposes',
    check: (m, report) => {
      const ix = indexOf(m);
      for (const g of m.gateways) {
        const pods = gatewayWorkloads(m, g);
        if (!pods.length) continue;
        // Istio's rule: a server port must be a TCP targetPort (or, failing that, a port) of a
        // Service selecting one of the gateway's pods.
        const open = new Set<number>();
        const services = new Set<string>();
        for (const w of pods)
          for (const s of ix.servicesOfWorkload.get(w) ?? []) {
            services.add(id(s));
            for (const p of s.ports) {
              if (p.protocol !== 'TCP') continue;
              if (typeof p.targetPort === 'number' && p.targetPort !== 0) open.add(p.targetPort);
              open.add(p.port);
            }
          }
        g.servers.forEach((s: GatewayServer, i) => {
          if (!open.has(s.port.number))
            report(
              g,
              `servers[${i}] port ${s.port.number} is not exposed by ${
                services.size ? `the Service(s) ${[...services].join(', ')}` : 'any Service'
              } of the gateway workload (selector ${selectorString(g.selector)}): Envoy listens, but no traffic reaches it`,
            );
        });
      }
    },
  },
  {
    code: 'MESH204',
    severity: 'error',
    mirrors: ['IST0101'],
    title: 'Gateway selector matches no gateway workload',
    hint: 'fix spec.selector to the labels of your ingress gateway pods (istio: ingressgateway for the default one)',
    check: (m, report) => {
      if (!gatewayPodsKnown(m)) return;
      for (const g of m.gateways)
        if (!gatewayWorkloads(m, g).length)
          report(
            g,
            `selector ${selectorString(g.selector) || '(empty)'} matches no workload in any namespace`,
          );
    },
  },
  {
    code: 'MESH205',
    severity: 'warning',
    mirrors: ['IST0138'],
    title: 'two Gateways of one workload use the same certificate',
    hint: 'give each Gateway its own credentialName, or merge their servers into one Gateway',
    check: (m, report) => {
      const sameCert = (a: GatewayServer['tls'], b: GatewayServer['tls']) => {
        if (!a || !b) return false;
        if (a.credentialName && b.credentialName) return a.credentialName === b.credentialName;
        return (
          !a.credentialName &&
          !b.credentialName &&
          !!a.serverCertificate &&
          a.serverCertificate === b.serverCertificate &&
          !!a.privateKey &&
          a.privateKey === b.privateKey
        );
      };
      for (const g of m.gateways) {
        // Istio compares with every Gateway whose selector includes this one's (all, when empty).
        const peers = m.gateways.filter((o) => o !== g && selects(g.selector, o.selector));
        for (const o of peers)
          if (g.servers.some((s) => o.servers.some((os) => sameCert(s.tls, os.tls))))
            report(g, `uses the same certificate as Gateway ${id(o)} on the same gateway workload`);
      }
    },
  },
];
