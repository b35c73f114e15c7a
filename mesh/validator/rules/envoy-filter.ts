/** The rules on EnvoyFilter, as Istio's EnvoyPatchAnalyzer reads the patches. */
import { workloadsSelected } from '../../model/query.js';
import type { EnvoyFilter, EnvoyFilterPatch, MeshModel } from '../../model/types.js';
import type { Rule } from '../rule.js';

const ROUTE_LEVEL = new Set(['ROUTE_CONFIGURATION', 'HTTP_ROUTE']);
const REPLACEABLE = new Set(['NETWORK_FILTER', 'HTTP_FILTER', 'VIRTUAL_HOST']);

/** What Istio's analyzer says about one patch: misuse of an operation, or a relative one. */
type Verdict = 'add-ignored' | 'remove-ignored' | 'replace-invalid' | 'relative' | undefined;

function verdict(p: EnvoyFilterPatch): Verdict {
  switch (p.operation) {
    case 'ADD':
      return p.applyTo && ROUTE_LEVEL.has(p.applyTo) ? 'add-ignored' : undefined;
    case 'REMOVE':
      return p.applyTo && ROUTE_LEVEL.has(p.applyTo) ? 'remove-ignored' : 'relative';
    case 'REPLACE':
      return p.applyTo && REPLACEABLE.has(p.applyTo) ? 'relative' : 'replace-invalid';
    case 'INSERT_BEFORE':
    case 'INSERT_AFTER':
      return 'relative';
    default:
      return undefined;
  }
}

interface Judged {
  readonly filter: EnvoyFilter;
  readonly index: number;
  readonly patch: EnvoyFilterPatch;
  readonly verdict: Verdict;
  /** A relative patch without priority on a filter that an earlier patch with a proxyVersion names. */
  readonly withProxyVersion: boolean;
}

const judged = new WeakMap<MeshModel, Judged[]>();

/**
 * Every patch with its verdict, in input order (Istio stops reading an EnvoyFilter's list at the
 * first entry without a `patch`, and remembers the filter names of patches with a proxyVersion
 * across EnvoyFilters in that order).
 */
function judge(m: MeshModel): Judged[] {
  let out = judged.get(m);
  if (out) return out;
  out = [];
  const versioned: string[] = [];
  for (const f of m.envoyFilters) {
    for (const [index, patch] of f.patches.entries()) {
      if (!patch.hasPatch) break;
      const v = verdict(patch);
      out.push({
        filter: f,
        index,
        patch,
        verdict: v,
        withProxyVersion: v === 'relative' && versioned.includes(patch.filterName),
      });
      if (patch.proxyVersion) versioned.push(patch.filterName);
    }
  }
  judged.set(m, out);
  return out;
}

const relativeWithoutPriority = (j: Judged) => j.verdict === 'relative' && !j.filter.priority;

export const envoyFilterRules: readonly Rule[] = [
  {
    code: 'MESH701',
    severity: 'warning',
    mirrors: ['IST0151'],
    title: 'relative EnvoyFilter patch without priority',
    hint: 'set spec.priority, or use INSERT_FIRST/ADD, so the relative patch has a defined order',
    check: (m, report) => {
      for (const j of judge(m))
        if (relativeWithoutPriority(j) && !j.withProxyVersion)
          report(
            j.filter,
            `configPatches[${j.index}] is relative (${j.patch.operation}) and the EnvoyFilter has no priority: it may not be applied`,
          );
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
  {
    code: 'MESH703',
    severity: 'error',
    mirrors: ['IST0152'],
    title: 'EnvoyFilter REPLACE on something it cannot replace',
    hint: 'REPLACE works on NETWORK_FILTER, HTTP_FILTER and VIRTUAL_HOST only; use MERGE or REMOVE+ADD otherwise',
    check: (m, report) => {
      for (const j of judge(m))
        if (j.verdict === 'replace-invalid')
          report(
            j.filter,
            `configPatches[${j.index}] REPLACE applies to ${j.patch.applyTo ?? '(nothing)'}, where Istio ignores it`,
          );
    },
  },
  {
    code: 'MESH704',
    severity: 'error',
    mirrors: ['IST0153'],
    title: 'EnvoyFilter ADD on a route configuration',
    hint: 'ADD is ignored for ROUTE_CONFIGURATION and HTTP_ROUTE: use MERGE, or ADD a VIRTUAL_HOST',
    check: (m, report) => {
      for (const j of judge(m))
        if (j.verdict === 'add-ignored')
          report(
            j.filter,
            `configPatches[${j.index}] ADD applies to ${j.patch.applyTo}, where Istio ignores it`,
          );
    },
  },
  {
    code: 'MESH705',
    severity: 'error',
    mirrors: ['IST0154'],
    title: 'EnvoyFilter REMOVE on a route configuration',
    hint: 'REMOVE is ignored for ROUTE_CONFIGURATION and HTTP_ROUTE: remove the VIRTUAL_HOST, or MERGE',
    check: (m, report) => {
      for (const j of judge(m))
        if (j.verdict === 'remove-ignored')
          report(
            j.filter,
            `configPatches[${j.index}] REMOVE applies to ${j.patch.applyTo}, where Istio ignores it`,
          );
    },
  },
  {
    code: 'MESH706',
    severity: 'warning',
    mirrors: ['IST0155'],
    title: 'relative EnvoyFilter patch without priority on a proxyVersion-pinned filter',
    hint: 'set spec.priority: with proxyVersion-specific patches of the same filter, the order is undefined after an upgrade',
    check: (m, report) => {
      for (const j of judge(m))
        if (relativeWithoutPriority(j) && j.withProxyVersion)
          report(
            j.filter,
            `configPatches[${j.index}] is relative (${j.patch.operation}) on ${j.patch.filterName || 'a filter'} that a patch with a proxyVersion also names, and the EnvoyFilter has no priority`,
          );
    },
  },
];
