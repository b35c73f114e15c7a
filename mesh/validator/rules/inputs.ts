/** The rules on the inputs themselves. */
import type { Rule } from '../rule.js';

export const inputRules: readonly Rule[] = [
  {
    code: 'MESH901',
    severity: 'error',
    mirrors: [],
    title: 'object defined more than once',
    hint: 'keep one definition of the object; the last one given is the one applied and checked',
    check: (m, report) => {
      for (const d of m.duplicates)
        report(
          d.kept,
          `${d.kind} ${d.namespace}/${d.name} is defined ${d.places.length} times: ${d.places.join(', ')}; the last one is used`,
        );
    },
  },
];
