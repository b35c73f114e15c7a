/** The rules on Namespace. */
import type { Rule } from '../rule.js';

export const namespaceRules: readonly Rule[] = [
  {
    code: 'MESH801',
    severity: 'info',
    mirrors: ['IST0102'],
    title: 'namespace not enabled for sidecar injection',
    hint: "label it: kubectl label namespace <ns> istio-injection=enabled (or 'disabled' to say it is intended)",
    check: (m, report) => {
      for (const n of m.namespaces) {
        // An ambient namespace is in the mesh without injection (istioctl does the same).
        if (n.name === m.rootNamespace || n.labels['istio.io/dataplane-mode'] === 'ambient') continue;
        if (n.labels['istio-injection'] === undefined && n.labels['istio.io/rev'] === undefined)
          report(n, `namespace ${n.name} is not enabled for Istio injection`);
      }
    },
  },
];
