/** The rules on Gateway. */
import { hostsOverlap } from '../../model/query.js';
import { id } from './shared.js';
import type { Rule } from '../rule.js';

export const gatewayRules: readonly Rule[] = [
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
];
