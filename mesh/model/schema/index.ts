/**
 * Every object is checked before the model reads it: its shape (nesting depth), its `metadata`, its
 * `spec` against the CRD schema of its apiVersion and kind (Istio 1.30's, compiled from
 * ./crd-validators.gen.ts), the Gateway API CRDs' CEL rules (./cel.ts), then Istio's own validation
 * of what the schema cannot say. An object that
 * fails is left out of the model and reported as MESH001 (istioctl's IST0106) on that object, so
 * no rule, explain, reachability or graph ever reads a malformed field, and the rest is still checked.
 */
import { checkCelRules } from './cel.js';
import { checkSpec, hasSchema, schemaGroups, shown } from './crd.js';
import { istioValidation } from './istio-validation.js';
import { checkMetadata } from './metadata.js';

/** Deeper objects are refused before anything walks them (no Istio object nests half as deep). */
export const MAX_DEPTH = 100;

export type Checked =
  | {
      readonly ok: true;
      /** The object with its null fields dropped, as the apiserver prunes them. */ readonly object: Record<
        string,
        unknown
      >;
    }
  | { readonly ok: false; readonly problems: readonly string[] };

/** The deepest nesting of `v`, counted without recursion; stops counting past `limit`. */
function depthOver(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d >= limit) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x))
      if (typeof c === 'object' && c !== null) stack.push([c, d + 1]);
  }
  return false;
}

/** A copy without null-valued fields (null list items stay: the schema reports them). Own keys only, so `__proto__` stays a plain key. */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, pruneNulls(x)]),
  );
}

let groups: Set<string> | undefined;

/** Checks one object (not a List); `apiVersion` and `kind` as the object states them. */
export function checkObject(object: Record<string, unknown>): Checked {
  if (depthOver(object, MAX_DEPTH))
    return {
      ok: false,
      problems: [`nested deeper than ${MAX_DEPTH} levels: not a Kubernetes object the mesh can read`],
    };
  const pruned = pruneNulls(object) as Record<string, unknown>;
  const problems = [...checkMetadata(pruned)];
  const apiVersion = pruned.apiVersion;
  const kind = typeof pruned.kind === 'string' ? pruned.kind : '';
  if (typeof pruned.kind !== 'string' || pruned.kind === '')
    problems.push(`kind: must be a string like VirtualService (got ${shown(pruned.kind)})`);
  if (typeof apiVersion !== 'string')
    problems.push(`apiVersion: must be a string like networking.istio.io/v1 (got ${shown(apiVersion)})`);
  else if (hasSchema(apiVersion, kind)) {
    const spec = pruned.spec === undefined ? {} : pruned.spec;
    const own = checkSpec(apiVersion, kind, spec);
    problems.push(...own);
    if (!own.length)
      problems.push(
        ...checkCelRules(apiVersion, kind, spec),
        ...istioValidation(apiVersion.split('/')[0]!, kind, spec),
      );
  } else {
    groups ??= schemaGroups();
    const group = apiVersion.split('/')[0]!;
    const served = [...groups].filter((g) => g.startsWith(`${group}/`) && hasSchema(g, kind));
    if (served.length)
      problems.push(
        `apiVersion: ${apiVersion} does not serve ${kind}: use ${served.map((s) => s).join(' or ')}`,
      );
  }
  return problems.length ? { ok: false, problems } : { ok: true, object: pruned };
}
