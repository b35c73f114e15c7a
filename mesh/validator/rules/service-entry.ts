/** The rules on ServiceEntry. */
import type { Rule } from '../rule.js';

export const serviceEntryRules: readonly Rule[] = [
  {
    code: 'MESH921',
    severity: 'warning',
    mirrors: ['IST0134'],
    title: 'TCP ServiceEntry without addresses',
    hint: 'give the ServiceEntry addresses, or turn on DNS auto-allocation (ISTIO_META_DNS_CAPTURE and ISTIO_META_DNS_AUTO_ALLOCATE "true" in proxyMetadata)',
    check: (m, report) => {
      const md = m.meshConfig.proxyMetadata;
      const autoAllocated =
        md.ISTIO_META_DNS_CAPTURE === 'true' &&
        (md.ISTIO_META_DNS_AUTO_ALLOCATE === 'true' || md.PILOT_ENABLE_IP_AUTOALLOCATE === 'true');
      if (autoAllocated) return;
      for (const se of m.serviceEntries) {
        if (se.addresses?.length || se.allocatedAddresses.length) continue;
        se.ports.forEach((p, i) => {
          if (!p.protocol || p.protocol.toUpperCase() === 'TCP')
            report(
              se,
              `ports[${i}] (${p.number}) is ${p.protocol ? 'TCP' : 'TCP by default'} and the ServiceEntry has no addresses: TCP traffic to its hosts cannot be told apart by IP`,
            );
        });
      }
    },
  },
];
