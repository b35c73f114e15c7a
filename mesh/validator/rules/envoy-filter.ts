/** The rules on EnvoyFilter. */
import { workloadsSelected } from '../../model/query.js';
import type { Rule } from '../rule.js';

export const envoyFilterRules: readonly Rule[] = [
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
];
