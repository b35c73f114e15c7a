/** The rules on Telemetry, as Istio's telemetry analyzers read them. */
import { selectorString } from './gateway.js';
import { overlapping, selectedInNamespace, severalDefaults } from './sidecar.js';
import { id } from './shared.js';
import type { Rule } from '../rule.js';

export const telemetryRules: readonly Rule[] = [
  {
    code: 'MESH931',
    severity: 'error',
    mirrors: ['IST0101'],
    title: 'Telemetry selector matches no workload',
    hint: 'fix spec.selector.matchLabels to the labels of pods in the same namespace',
    check: (m, report) => {
      for (const t of m.telemetries)
        if (
          t.selector &&
          Object.keys(t.selector).length &&
          !selectedInNamespace(m, t.namespace, t.selector).length
        )
          report(t, `selector ${selectorString(t.selector)} matches no workload in ${t.namespace}`);
    },
  },
  {
    code: 'MESH932',
    severity: 'error',
    mirrors: ['IST0159'],
    title: 'several Telemetries select the same workload',
    hint: 'select each workload with one Telemetry at most',
    check: (m, report) => {
      for (const [t, ws] of overlapping(m, m.telemetries))
        report(t, `selects ${ws.map((w) => w.name).join(', ')}, which another Telemetry also selects`);
    },
  },
  {
    code: 'MESH933',
    severity: 'error',
    mirrors: ['IST0160'],
    title: 'several Telemetries without selector in one namespace',
    hint: 'keep one namespace-wide Telemetry per namespace',
    check: (m, report) => {
      for (const list of severalDefaults(m.telemetries, (t) => t.selector === undefined))
        for (const t of list)
          report(
            t,
            `is one of ${list.length} Telemetries without selector in ${t.namespace} (${list.map(id).join(', ')})`,
          );
    },
  },
  {
    code: 'MESH934',
    severity: 'warning',
    mirrors: ['IST0157'],
    title: 'Telemetry access logging without a provider, and no default provider',
    hint: 'name a provider in accessLogging[].providers (envoy for the built-in log), or set defaultProviders.accessLogging in the mesh config',
    check: (m, report) => {
      if (m.meshConfig.defaultAccessLogging.length) return;
      for (const t of m.telemetries)
        t.accessLogging.forEach((a, i) => {
          if (!a.disabled && !a.providers.length)
            report(
              t,
              `accessLogging[${i}] names no provider and the mesh config has no default one: nothing is logged`,
            );
        });
    },
  },
];
