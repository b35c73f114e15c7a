/**
 * Writes mesh/model/schema/crd-validators.gen.ts (`npm run gen:schemas`): ajv's validators of the
 * `spec` schemas of the CRDs the mesh model checks objects against, generated as code (ajv's
 * standalone mode: compiling them at run time costs 0.6 s per kind), with the compact schemas
 * (no descriptions) they were made from, so the shipped package validates without the CRD files.
 * Input: the CRD YAML files given as arguments (default: Istio 1.30's `crd-all.gen.yaml` and the
 * Gateway API CRDs Istio 1.30 requires, standard channel, as test/harness/provision.sh caches them).
 *
 * Unknown fields are refused (`additionalProperties: false` wherever the schema lists properties
 * and does not preserve unknown fields), as `kubectl apply`'s strict field validation refuses them.
 * The CRDs' CEL rules (`x-kubernetes-validations`) are translated to JSON Schema where they say
 * something JSON Schema can say (a port range, "no `*`", "at most one of", a duration's syntax: the
 * 1ms floor of `duration(self) >= duration('1ms')` is not checked here); the others are left out,
 * and the header of the generated file counts them. The Gateway API CRDs' rules are not translated:
 * they are kept as CEL, with the defaults and integer fields of the schema beneath them, for
 * ./cel.ts to evaluate as the apiserver does (transition rules on `oldSelf` are left out: lint sees
 * one version of an object).
 * With `--check`, writes nothing and exits 1 when the committed file differs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'mesh/model/schema/crd-validators.gen.ts');

type Schema = Record<string, unknown>;

/** Keywords kept: what ajv evaluates, and Kubernetes' own extensions the validator reads. */
const KEEP = new Set([
  'type',
  'properties',
  'required',
  'items',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'pattern',
  'additionalProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'nullable',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
]);

interface Stats {
  translated: number;
  dropped: Set<string>;
}

/** Go's time.ParseDuration grammar (api/duration.ts), without a sign: CEL's `duration()` reads it. */
const GO_DURATION = '^(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$';

/** The JSON Schema a CEL rule says, or undefined when it says more than JSON Schema can. */
function translate(rule: string): Schema | undefined {
  const r = rule.replace(/\s+/g, ' ').trim();
  let m: RegExpExecArray | null;
  if (/^duration\(self\) >= duration\('1ms'\)$/.test(r)) return { pattern: GO_DURATION };
  if ((m = /^(\d+) < self && self <= (\d+)$/.exec(r)))
    return { minimum: Number(m[1]) + 1, maximum: Number(m[2]) };
  if (r === '!self.contains("*")') return { not: { pattern: '\\*' } };
  if (r === 'self != "*"') return { not: { const: '*' } };
  if (r === 'self.all(key, !key.contains("*"))') return { propertyNames: { not: { pattern: '\\*' } } };
  if (r === 'self.all(key, key.size() != 0)') return { propertyNames: { minLength: 1 } };
  if (r === 'self.size() == 0') return { maxProperties: 0 };
  if (r === 'self.all(key, 0 < int(key) && int(key) <= 65535)')
    return {
      propertyNames: {
        pattern: '^(?:[1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$',
      },
    };
  // (has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) [+ …] <= 1: at most one of the fields.
  const terms = r.split(' + ');
  const fields = terms.map((t) => /^\(?\(has\(self\.(\w+)\) \? 1 : 0\)\)?(?: <= 1)?$/.exec(t)?.[1]);
  if (terms.length > 1 && r.endsWith('<= 1') && fields.every((f) => f !== undefined)) {
    const pairs: Schema[] = [];
    for (let i = 0; i < fields.length; i++)
      for (let j = i + 1; j < fields.length; j++) pairs.push({ required: [fields[i], fields[j]] });
    return { not: pairs.length === 1 ? pairs[0] : { anyOf: pairs } };
  }
  return undefined;
}

/**
 * `s` with only the KEEP keywords. A branch of `oneOf`/`anyOf`/`allOf`/`not` (`branch`) states
 * extra conditions on fields its parent lists, so it does not refuse the fields it leaves out.
 */
function compact(s: unknown, stats: Stats, cel = false, branch = false): unknown {
  if (Array.isArray(s)) return s.map((x) => compact(x, stats, cel, branch));
  if (typeof s !== 'object' || s === null) return s;
  const src = s as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (!KEEP.has(k)) continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, compact(ps, stats, cel)]));
    } else if (k === 'required' || k === 'enum') out[k] = v;
    else out[k] = compact(v, stats, cel, ['oneOf', 'anyOf', 'allOf', 'not'].includes(k));
  }
  const extra: Schema[] = [];
  const validations = cel ? [] : (src['x-kubernetes-validations'] ?? []);
  for (const { rule, message } of validations as {
    rule: string;
    message?: string;
  }[]) {
    const t = translate(rule);
    if (t) {
      stats.translated++;
      extra.push(message ? { ...t, 'x-message': message } : t);
    } else stats.dropped.add(rule.replace(/\s+/g, ' '));
  }
  if (extra.length) out.allOf = [...((out.allOf as Schema[] | undefined) ?? []), ...extra];
  if (
    out.properties &&
    !branch &&
    out.additionalProperties === undefined &&
    !out['x-kubernetes-preserve-unknown-fields']
  )
    out.additionalProperties = false;
  return out;
}

/** A CEL rule as the CRD states it. */
interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
}

/**
 * The part of a schema the CEL rules need: `r` the rules of this node; `p` properties, `i` items,
 * `a` additionalProperties (a map's values); `d` the default the apiserver fills in before the
 * rules run; `n: 1` a `number` (a double in CEL; other JSON numbers are ints); `k` the keys of an
 * `x-kubernetes-list-type: map` list and `s: 1` a `set` list, whose items must be unique.
 */
interface CelNode {
  r?: CelRule[];
  p?: Record<string, CelNode>;
  i?: CelNode;
  a?: CelNode;
  d?: unknown;
  n?: 1;
  k?: string[];
  s?: 1;
}

interface CelStats {
  rules: Set<string>;
  transition: Set<string>;
}

/** `s` as a CelNode; with `inside` (a rule above reads this value), every default and number too. */
function celTree(s: Schema, inside: boolean, stats: CelStats): CelNode | undefined {
  const node: CelNode = {};
  const rules: CelRule[] = [];
  for (const v of (s['x-kubernetes-validations'] ?? []) as CelRule[]) {
    const rule = v.rule.replace(/\s+/g, ' ').trim();
    if (/\boldSelf\b/.test(rule)) {
      stats.transition.add(rule);
      continue;
    }
    stats.rules.add(rule);
    const r: CelRule = { rule };
    if (v.message) r.message = v.message;
    if (v.messageExpression) r.messageExpression = v.messageExpression;
    if (v.fieldPath) r.fieldPath = v.fieldPath;
    rules.push(r);
  }
  const under = inside || rules.length > 0;
  if (rules.length) node.r = rules;
  const props = s.properties as Record<string, Schema> | undefined;
  if (props) {
    const p: Record<string, CelNode> = {};
    for (const [k, ps] of Object.entries(props)) {
      const c = celTree(ps, under, stats);
      if (c) p[k] = c;
    }
    if (Object.keys(p).length) node.p = p;
  }
  if (s.items && typeof s.items === 'object') {
    const c = celTree(s.items as Schema, under, stats);
    if (c) node.i = c;
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const c = celTree(s.additionalProperties as Schema, under, stats);
    if (c) node.a = c;
  }
  if (under && s.default !== undefined) node.d = s.default;
  if (under && s.type === 'number') node.n = 1;
  if (s['x-kubernetes-list-type'] === 'map') node.k = s['x-kubernetes-list-map-keys'] as string[];
  if (s['x-kubernetes-list-type'] === 'set') node.s = 1;
  return Object.keys(node).length ? node : undefined;
}

/** The API groups whose CEL rules are kept as CEL and evaluated (./cel.ts), not translated. */
const CEL_GROUPS = new Set(['gateway.networking.k8s.io']);

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

/** The generated module's text for the CRDs in `files`. */
export function render(files: readonly string[], label: string): string {
  const stats: Stats = { translated: 0, dropped: new Set() };
  const celStats: CelStats = { rules: new Set(), transition: new Set() };
  const celKinds: Record<string, number> = {};
  const celTrees: CelNode[] = [];
  const celSeen = new Map<string, number>();
  const kinds: Record<string, number> = {};
  const schemas: unknown[] = [];
  const seen = new Map<string, number>();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (!crd || (crd as unknown as { kind?: string }).kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions) {
        if (v.served === false) continue;
        const spec = (v.schema?.openAPIV3Schema?.properties as Schema | undefined)?.spec;
        if (!spec) continue;
        const cel = CEL_GROUPS.has(crd.spec.group);
        const c = compact(spec, stats, cel);
        const tree = cel ? celTree(spec, false, celStats) : undefined;
        if (tree) {
          const treeKey = JSON.stringify(tree);
          let t = celSeen.get(treeKey);
          if (t === undefined) {
            t = celTrees.length;
            celTrees.push(tree);
            celSeen.set(treeKey, t);
          }
          celKinds[`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`] = t;
        }
        const key = JSON.stringify(c);
        let i = seen.get(key);
        if (i === undefined) {
          i = schemas.length;
          schemas.push(c);
          seen.set(key, i);
        }
        kinds[`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`] = i;
      }
    }
  }
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: false,
    unicode: false,
    code: { source: true, esm: true, optimize: 1 },
  });
  ajv.addVocabulary(['x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-message']);
  const refs: Record<string, string> = {};
  schemas.forEach((sc, i) => {
    ajv.addSchema(sc as Schema, `s${i}`);
    refs[`v${i}`] = `s${i}`;
  });
  const code = standaloneCode(ajv, refs);
  if (/require\(/.test(code))
    throw new Error('the generated validators require() a runtime module: adjust the ajv options');
  return [
    '// @ts-nocheck',
    `// Generated by scripts/crd-schemas.ts from ${label}: do not edit (npm run gen:schemas).`,
    `// ${Object.keys(kinds).length} apiVersion/kinds, ${schemas.length} distinct spec schemas; ${stats.translated} CEL rules translated to JSON Schema, ${stats.dropped.size} distinct CEL rules not evaluated.`,
    `// ${Object.keys(celKinds).length} apiVersion/kinds with ${celStats.rules.size} distinct CEL rules on their spec kept as CEL (CEL_KINDS, CEL_TREES: mesh/model/schema/cel.ts evaluates them); ${celStats.transition.size} transition rules (on oldSelf) left out.`,
    code.replace(/^"use strict";/, ''),
    '/** The `spec` schema of each `group/version/Kind`, as an index into SCHEMAS (and validator `v<index>`). */',
    `export const KINDS = ${JSON.stringify(kinds)};`,
    '/** The schemas the validators check, to explain their errors. */',
    `export const SCHEMAS = JSON.parse(${JSON.stringify(JSON.stringify(schemas))});`,
    "/** The CEL rules of each `group/version/Kind`'s spec, as an index into CEL_TREES. */",
    `export const CEL_KINDS = ${JSON.stringify(celKinds)};`,
    '/** The rules with the defaults and number fields beneath them (CelNode in scripts/crd-schemas.ts). */',
    `export const CEL_TREES = JSON.parse(${JSON.stringify(JSON.stringify(celTrees))});`,
    '',
  ].join('\n');
}

/** The bundle version the Gateway API CRDs state (`v1.5.1`). */
function gatewayApiBundle(file: string): string {
  const v = /gateway\.networking\.k8s\.io\/bundle-version: (\S+)/.exec(readFileSync(file, 'utf8'))?.[1];
  if (!v) throw new Error(`${file} states no gateway.networking.k8s.io/bundle-version`);
  return v;
}

function main(): number {
  const args = process.argv.slice(2).filter((a) => a !== '--check');
  let files = args;
  let label = args.map((f) => relative(root, f)).join(', ');
  if (!files.length) {
    const bin = execFileSync(
      'bash',
      [join(root, 'test/harness/provision.sh'), 'istio-crds', 'gateway-api-crds'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
      .trim()
      .split('\n')
      .pop()!;
    files = [join(bin, 'istio-crds.yaml'), join(bin, 'gateway-api-crds.yaml')];
    label = `Istio 1.30's crd-all.gen.yaml and the Gateway API ${gatewayApiBundle(files[1]!)} CRDs (standard channel)`;
  }
  const text = render(files, label);
  const shown = relative(process.cwd(), OUT);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OUT, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${shown} is stale: run \`npm run gen:schemas\` and commit it`);
      return 1;
    }
    return 0;
  }
  writeFileSync(OUT, text);
  console.log(`wrote ${shown} (${text.length} bytes)`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
