/** The rules on Sidecar, as Istio's sidecar.SelectorAnalyzer reads them. */
import { indexOf, selects } from '../../model/query.js';
import type { Entry, Labels, MeshModel, Workload } from '../../model/types.js';
import { selectorString } from './gateway.js';
import { id } from './shared.js';
import type { Rule } from '../rule.js';

/** Workloads of the object's own namespace the selector picks (Sidecar and Telemetry select there only). */
export const selectedInNamespace = (m: MeshModel, ns: string, selector: Labels): Workload[] =>
  (indexOf(m).workloadsByNs.get(ns) ?? []).filter((w) => selects(selector, w.podLabels));

/** Per workload, the objects whose non-empty selector picks it, when more than one does. */
export function overlapping<T extends Entry & { readonly selector: Labels | undefined }>(
  m: MeshModel,
  objects: readonly T[],
): Map<T, Workload[]> {
  const byWorkload = new Map<Workload, T[]>();
  for (const o of objects) {
    if (!o.selector || !Object.keys(o.selector).length) continue;
    for (const w of selectedInNamespace(m, o.namespace, o.selector))
      byWorkload.set(w, [...(byWorkload.get(w) ?? []), o]);
  }
  const out = new Map<T, Workload[]>();
  for (const [w, os] of byWorkload)
    if (os.length > 1) for (const o of os) out.set(o, [...(out.get(o) ?? []), w]);
  return out;
}

/** Objects without a selector (the namespace default), by namespace, where a namespace has several. */
export function severalDefaults<T extends Entry>(objects: readonly T[], isDefault: (o: T) => boolean): T[][] {
  const byNs = new Map<string, T[]>();
  for (const o of objects) if (isDefault(o)) byNs.set(o.namespace, [...(byNs.get(o.namespace) ?? []), o]);
  return [...byNs.values()].filter((l) => l.length > 1);
}

export const sidecarRules: readonly Rule[] = [
  {
    code: 'MESH911',
    severity: 'error',
    mirrors: ['IST0101'],
    title: 'Sidecar workloadSelector matches no workload',
    hint: 'fix spec.workloadSelector.labels to the labels of pods in the same namespace',
    check: (m, report) => {
      for (const s of m.sidecars)
        if (s.selector && !selectedInNamespace(m, s.namespace, s.selector).length)
          report(s, `workloadSelector ${selectorString(s.selector)} matches no workload in ${s.namespace}`);
    },
  },
  {
    code: 'MESH912',
    severity: 'error',
    mirrors: ['IST0110'],
    title: 'several Sidecars select the same workload',
    hint: 'select each workload with one Sidecar at most; Istio picks one of them arbitrarily',
    check: (m, report) => {
      for (const [s, ws] of overlapping(m, m.sidecars))
        report(s, `selects ${ws.map((w) => w.name).join(', ')}, which another Sidecar also selects`);
    },
  },
  {
    code: 'MESH913',
    severity: 'error',
    mirrors: ['IST0111'],
    title: 'several Sidecars without workloadSelector in one namespace',
    hint: 'keep one namespace-wide Sidecar per namespace; Istio picks one of them arbitrarily',
    check: (m, report) => {
      for (const list of severalDefaults(m.sidecars, (s) => !s.selector))
        for (const s of list)
          report(
            s,
            `is one of ${list.length} Sidecars without workloadSelector in ${s.namespace} (${list.map(id).join(', ')})`,
          );
    },
  },
];
