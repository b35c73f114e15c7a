/** Objects that do not fit their schema: found by the model before any rule reads them (../../model/schema/). */
import type { Rule } from '../rule.js';

export const schemaRule: Rule = {
  code: 'MESH001',
  severity: 'error',
  mirrors: ['IST0106'],
  title: "object does not fit its CRD schema or Istio's validation",
  hint: 'fix the field as the message says; the object is left out of every other check until it is valid',
  check: (m, report) => {
    for (const o of m.invalid) for (const p of o.problems) report(o, p);
  },
};
