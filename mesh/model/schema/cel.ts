/**
 * The CEL rules (`x-kubernetes-validations`) of the Gateway API CRDs, evaluated on an object's `spec`
 * as the apiserver evaluates them: after the schema's defaults are filled in, with `self` bound to
 * the value the rule sits on, Kubernetes' escaping of property names (`__namespace__`), RE2 for
 * `matches`, the `strings` extension (`split`, `substring`, …) and Kubernetes' `isIP`. The evaluator
 * is @bufbuild/cel (conformance-tested against the CEL spec), loaded when the first rule is
 * evaluated (./cel-runtime.cjs); the rules and the schema parts they read are generated into
 * ./crd-validators.gen.ts by scripts/crd-schemas.ts.
 *
 * Runs only on a spec that passed its JSON Schema (./crd.ts), so every value has the type the rule
 * expects. The uniqueness of `x-kubernetes-list-type: map` and `set` lists, which JSON Schema cannot
 * say either, is checked on the same walk. Transition rules (on `oldSelf`) are not evaluated: they compare an update with the
 * stored object, and lint sees one version.
 */
import { isIP } from 'node:net';
import { loadCel, type CelEnv, type CelInput } from './cel-runtime.cjs';
import { fieldPath } from './crd.js';
import * as generated from './crd-validators.gen.js';

interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
}

/** See CelNode in scripts/crd-schemas.ts. */
interface CelNode {
  readonly r?: readonly CelRule[];
  readonly p?: Readonly<Record<string, CelNode>>;
  readonly i?: CelNode;
  readonly a?: CelNode;
  readonly d?: unknown;
  readonly n?: 1;
  readonly k?: readonly string[];
  readonly s?: 1;
}

const KINDS: Readonly<Record<string, number>> = (
  generated as unknown as { CEL_KINDS: Record<string, number> }
).CEL_KINDS;
const TREES: readonly CelNode[] = (generated as unknown as { CEL_TREES: CelNode[] }).CEL_TREES;

/**
 * Kubernetes' `isIP(string)`: an IPv4 or IPv6 address as Go's netip parses it, without a zone and
 * not IPv4-mapped (k8s.io/apiserver/pkg/cel/library/ip.go).
 */
export function kubernetesIsIP(s: string): boolean {
  const v = isIP(s);
  if (v === 4) return true;
  if (v !== 6 || s.includes('%')) return false;
  return !new URL(`http://[${s}]`).hostname.startsWith('[::ffff:');
}

type Evaluate = (ctx: { self: CelInput }) => unknown;

/** The evaluator with Kubernetes' functions, made on the first rule evaluated. */
type CelRuntime = { readonly cel: ReturnType<typeof loadCel>['cel']; readonly env: CelEnv };
let runtime: CelRuntime | undefined;
function celRuntime(): CelRuntime {
  if (!runtime) {
    const { cel, ext } = loadCel();
    const { celEnv, celFunc, CelScalar } = cel;
    const env = celEnv({
      funcs: [...ext.strings, celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s) => kubernetesIsIP(s))],
    });
    runtime = { cel, env };
  }
  return runtime;
}

const plans = new Map<string, Evaluate>();

/** The evaluation function of a rule, parsed once. */
function planned(rule: string): Evaluate {
  let p = plans.get(rule);
  if (!p) {
    const { cel, env } = celRuntime();
    p = cel.plan(env, cel.parse(rule)) as unknown as Evaluate;
    plans.set(rule, p);
  }
  return p;
}

/** Kubernetes' CEL words: a property named like one is `__word__` in a rule (k8s.io/apiserver/pkg/cel/escaping.go). */
const RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

/** A property name as a rule spells it: `namespace` → `__namespace__`, `a.b` → `a__dot__b`. */
export function escapeProperty(name: string): string {
  if (RESERVED.has(name)) return `__${name}__`;
  return name
    .replace(/__/g, '__underscores__')
    .replace(/\./g, '__dot__')
    .replace(/-/g, '__dash__')
    .replace(/\//g, '__slash__');
}

/** A JSON value as a CEL input: objects as maps, integers as `int` (bigint), `number` fields as `double`. */
function toCel(node: CelNode | undefined, v: unknown): CelInput {
  if (Array.isArray(v)) return v.map((x) => toCel(node?.i, x));
  if (typeof v === 'number') return node?.n || !Number.isInteger(v) ? v : BigInt(v);
  if (typeof v !== 'object' || v === null) return v as CelInput;
  const out = new Map<string, CelInput>();
  const props = node?.p;
  for (const [k, x] of Object.entries(v)) {
    const child = props && Object.hasOwn(props, k) ? props[k] : node?.a;
    out.set(props ? escapeProperty(k) : k, toCel(child, x));
  }
  return out;
}

/** `v` with the defaults of `node` filled in, as plain JSON (what the walk descends into). */
function withDefaults(node: CelNode, v: unknown): unknown {
  if (Array.isArray(v)) return node.i ? v.map((x) => withDefaults(node.i!, x)) : v;
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const [k, child] of Object.entries(node.p ?? {})) {
    if (!Object.hasOwn(out, k) && child.d !== undefined) out[k] = structuredClone(child.d);
    if (Object.hasOwn(out, k)) out[k] = withDefaults(child, out[k]);
  }
  if (node.a && !node.p) for (const k of Object.keys(out)) out[k] = withDefaults(node.a, out[k]);
  return out;
}

const MAX_MESSAGES = 8;

/** What one rule says about `value` at `where`: undefined when it holds. */
function evaluate(rule: CelRule, self: CelInput, where: string): string | undefined {
  const at = rule.fieldPath ? `${where}${rule.fieldPath}` : where;
  let result: unknown;
  try {
    result = planned(rule.rule)({ self });
  } catch (e) {
    result = e;
  }
  if (result === true) return undefined;
  let message = rule.message ?? `failed rule: ${rule.rule}`;
  if (rule.messageExpression) {
    const m = (() => {
      try {
        return planned(rule.messageExpression!)({ self });
      } catch {
        return undefined;
      }
    })();
    if (typeof m === 'string' && m !== '') message = m;
  }
  if (result === false) return `${at}: ${message}`;
  const why =
    celRuntime().cel.isCelError(result) || result instanceof Error
      ? result.message
      : `returned ${String(result)}`;
  return `${at}: ${message} (the rule could not be evaluated: ${why})`;
}

/**
 * The items of an `x-kubernetes-list-type: map` list with the keys of an earlier one, or the
 * repeated items of a `set`, as the apiserver reports them (`Duplicate value: {"name":"http"}`).
 */
function duplicates(node: CelNode, list: readonly unknown[], path: string, out: string[]): void {
  if (!node.k && !node.s) return;
  const seen = new Set<string>();
  list.forEach((item, n) => {
    const key = node.k
      ? Object.fromEntries(node.k.map((k) => [k, (item as Record<string, unknown>)[k]]))
      : item;
    const text = JSON.stringify(key);
    if (seen.has(text)) out.push(`${fieldPath(`${path}/${n}`)}: Duplicate value: ${text}`);
    seen.add(text);
  });
}

/** Walks `value` (defaults filled in) along `node`, collecting what the rules refuse. */
function walk(node: CelNode, value: unknown, path: string, out: string[]): void {
  if (value === undefined) return;
  if (Array.isArray(value)) duplicates(node, value, path, out);
  if (node.r) {
    const self = toCel(node, value);
    for (const rule of node.r) {
      const problem = evaluate(rule, self, fieldPath(path));
      if (problem) out.push(problem);
    }
  }
  if (Array.isArray(value)) {
    if (node.i) value.forEach((x, n) => walk(node.i!, x, `${path}/${n}`, out));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const o = value as Record<string, unknown>;
  if (node.p) {
    for (const [k, child] of Object.entries(node.p))
      if (Object.hasOwn(o, k))
        walk(child, o[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  } else if (node.a) {
    for (const [k, x] of Object.entries(o))
      walk(node.a, x, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  }
}

/** Whether the CEL rules of `apiVersion`/`kind` are evaluated here. */
export function hasCelRules(apiVersion: string, kind: string): boolean {
  return Object.hasOwn(KINDS, `${apiVersion}/${kind}`);
}

/**
 * What the CEL rules of `apiVersion`/`kind` refuse in `spec` (already valid against its JSON
 * Schema): one line per rule and place, `spec.rules[0]: RequestRedirect filter must not be used
 * together with backendRefs`, the first few. Empty when every rule holds or the kind has none.
 */
export function checkCelRules(apiVersion: string, kind: string, spec: unknown): string[] {
  const key = `${apiVersion}/${kind}`;
  if (!Object.hasOwn(KINDS, key)) return [];
  const tree = TREES[KINDS[key]!]!;
  const out: string[] = [];
  walk(tree, withDefaults(tree, spec), '', out);
  return out.length > MAX_MESSAGES
    ? [...out.slice(0, MAX_MESSAGES), `… and ${out.length - MAX_MESSAGES} more`]
    : out;
}
