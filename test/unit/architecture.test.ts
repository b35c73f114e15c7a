/**
 * Enforces the one-way arrows of docs/architecture: api, imports ← mesh (the model) ← constructs,
 * api ← operator; the model never imports cdk8s or constructs/; the operator never pulls in cdk8s
 * or constructs/, and both take the generated Istio types of imports/ as types only (erased at
 * run time, so cdk8s never loads); operator/core does no I/O; nothing but tests and benchmarks
 * imports test/; and no import cycle anywhere in what ships.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Rule {
  /** Files the rule applies to (path relative to the repo root starts with this). */
  readonly from: string;
  /** Forbidden targets: a repo folder (`constructs/`) or a package name (`cdk8s`, `node:fs`). */
  readonly forbid: readonly string[];
  /** Targets allowed through type-only imports (erased at run time), forbidden as values. */
  readonly typesOnly?: readonly string[];
  readonly why: string;
}

export const RULES: readonly Rule[] = [
  {
    from: 'api/',
    forbid: [
      'mesh/',
      'constructs/',
      'operator/',
      'cli/',
      'imports/',
      'examples/',
      'test/',
      'bench/',
      'cdk8s',
      'cdk8s-plus-28',
      '@kubernetes/client-node',
    ],
    why: 'api/ imports nothing of ours',
  },
  {
    from: 'operator/',
    forbid: ['constructs/', 'cli/', 'examples/', 'test/', 'bench/', 'cdk8s', 'cdk8s-plus-28', 'constructs'],
    typesOnly: ['imports/'],
    why: 'the operator must not pull in cdk8s or the authoring layer',
  },
  {
    from: 'operator/core/',
    forbid: [
      'operator/adapters/',
      'operator/runtime/',
      '@kubernetes/client-node',
      'node:fs',
      'node:http',
      'node:https',
      'node:net',
      'node:child_process',
      'prom-client',
    ],
    why: 'decide() is pure: no I/O, no client',
  },
  {
    from: 'mesh/',
    forbid: [
      'constructs/',
      'operator/',
      'cli/',
      'examples/',
      'test/',
      'bench/',
      'cdk8s',
      'cdk8s-plus-28',
      'constructs',
      '@kubernetes/client-node',
    ],
    typesOnly: ['imports/'],
    why: 'the mesh model reads plain objects: no cdk8s, no construct, no client',
  },
  {
    from: 'constructs/',
    forbid: ['operator/', 'cli/', 'examples/', 'test/', 'bench/', '@kubernetes/client-node'],
    why: 'constructs build on api/ and imports/ only',
  },
  {
    from: 'imports/',
    forbid: ['api/', 'mesh/', 'constructs/', 'operator/', 'cli/', 'test/'],
    why: 'imports/ is generated',
  },
  {
    from: 'examples/',
    forbid: ['operator/', 'cli/', 'test/', 'bench/'],
    why: 'examples use the constructs',
  },
  { from: 'cli/', forbid: ['test/', 'bench/'], why: 'nothing ships that imports test/' },
  {
    from: 'image/',
    forbid: ['api/', 'mesh/', 'constructs/', 'operator/', 'cli/', 'examples/', 'test/', 'bench/', 'cdk8s'],
    why: 'the image builder packages the operator from the outside: it reads files, it imports none of them',
  },
];

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out = out.concat(sourceFiles(rel));
    else if (e.isFile() && /\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The target of one import: a repo-relative path for relative specifiers, else the package name. */
function target(file: string, spec: string): string {
  if (spec.startsWith('.')) return relative(root, resolve(root, dirname(file), spec)) + '/';
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** One module a file refers to, and whether only types are taken from it (erased at run time). */
export interface ImportRef {
  readonly spec: string;
  readonly typeOnly: boolean;
}

const parsed = new Map<string, ImportRef[]>();

/**
 * Every module `text` refers to: import and export declarations (`import type`, or named imports
 * that are each `type`, are type-only), `import x = require()`, `import()` and `require()` calls,
 * and `import()` types (type-only).
 */
export function importsOf(file: string, text: string): ImportRef[] {
  const key = `${file}\0${text}`;
  const known = parsed.get(key);
  if (known) return known;
  const out: ImportRef[] = [];
  const literal = (e: ts.Node | undefined) => (e && ts.isStringLiteralLike(e) ? e.text : undefined);
  const add = (spec: string | undefined, typeOnly: boolean) => {
    if (spec !== undefined) out.push({ spec, typeOnly });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) {
      const clause = n.importClause;
      const named = clause?.namedBindings;
      const eachType =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      add(literal(n.moduleSpecifier), clause !== undefined && (clause.isTypeOnly || eachType));
    } else if (ts.isExportDeclaration(n)) {
      const named = n.exportClause;
      const eachType =
        named !== undefined &&
        ts.isNamedExports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      add(literal(n.moduleSpecifier), n.isTypeOnly || eachType);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) {
      add(literal(n.moduleReference.expression), n.isTypeOnly);
    } else if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === 'require'))
    ) {
      add(literal(n.arguments[0]), false);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) {
      add(literal(n.argument.literal), true);
    }
    ts.forEachChild(n, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  parsed.set(key, out);
  return out;
}

/** Every violation of `rules` in `files` (path → source text). */
export function violations(files: Record<string, string>, rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  const under = (t: string, f: string) => (f.endsWith('/') ? t.startsWith(f) : t === f);
  for (const [file, text] of Object.entries(files)) {
    const refs = importsOf(file, text);
    for (const rule of rules.filter((r) => file.startsWith(r.from))) {
      for (const { spec, typeOnly } of refs) {
        const t = target(file, spec);
        const bad = rule.forbid.find((f) => under(t, f));
        const valueOf = typeOnly ? undefined : rule.typesOnly?.find((f) => under(t, f));
        if (bad) found.push(`${file} imports '${spec}' (${bad}): ${rule.why}`);
        else if (valueOf)
          found.push(`${file} imports '${spec}' as a value (${valueOf}): only import type: ${rule.why}`);
      }
    }
  }
  return found;
}

/** Resolves a relative specifier of `file` to a repo file (`.js` written for a `.ts` source). */
function resolveFile(file: string, spec: string, files: Record<string, string>): string | undefined {
  const base = relative(root, resolve(root, dirname(file), spec));
  for (const c of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')])
    if (c in files) return c;
  return undefined;
}

/** Every import cycle among `files` (path → source text), each as the list of files around it. */
export function cycles(files: Record<string, string>): string[][] {
  const edges = new Map<string, string[]>();
  for (const [file, text] of Object.entries(files)) {
    const specs = importsOf(file, text).map((r) => r.spec);
    edges.set(
      file,
      specs.filter((s) => s.startsWith('.')).flatMap((s) => resolveFile(file, s, files) ?? []),
    );
  }
  // Tarjan's strongly connected components: a component of more than one file (or a file that
  // imports itself) is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Folders held to the arrows: what ships, and the image builder that packages it. */
const CHECKED = ['api', 'imports', 'mesh', 'constructs', 'operator', 'cli', 'examples', 'image'];

function repoFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of CHECKED) for (const f of sourceFiles(dir)) files[f] = readFileSync(join(root, f), 'utf8');
  return files;
}

describe('architecture arrows', () => {
  test('the repository has no import against the arrows', () => {
    const files = repoFiles();
    expect(Object.keys(files).filter((f) => f.startsWith('mesh/')).length).toBeGreaterThan(10);
    expect(violations(files)).toEqual([]);
  });

  test('the repository has no import cycle', () => {
    expect(cycles(repoFiles())).toEqual([]);
  });

  test('fails if two files import each other, or a cycle runs through three', () => {
    expect(
      cycles({
        'constructs/mesh.ts': "import { ZeroTrustPolicy } from './zero-trust-policy.js';",
        'constructs/zero-trust-policy.ts': "import type { Mesh } from './mesh.js';",
        'mesh/a.ts': "import { b } from './b.js';",
        'mesh/b.ts': "import { c } from './sub/index.js';",
        'mesh/sub/index.ts': "export * from '../a.js';",
        'mesh/leaf.ts': "import { a } from './a.js';",
      }),
    ).toEqual([
      ['constructs/mesh.ts', 'constructs/zero-trust-policy.ts'],
      ['mesh/a.ts', 'mesh/b.ts', 'mesh/sub/index.ts'],
    ]);
  });

  test.each([
    ['operator/runtime/main.ts', "import { App } from '../../constructs/app.js';", 'constructs/'],
    ['operator/adapters/x.ts', "import { Chart } from 'cdk8s';", 'cdk8s'],
    ['operator/core/decide.ts', "import * as k8s from '@kubernetes/client-node';", '@kubernetes/client-node'],
    ['operator/core/decide.ts', "import { readFileSync } from 'node:fs';", 'node:fs'],
    ['operator/core/decide.ts', "export { x } from '../adapters/prometheus.js';", 'operator/adapters/'],
    ['cli/main.ts', "const h = await import('../test/harness/cluster.js');", 'test/'],
    ['api/canary.ts', "import { Mesh } from '../constructs/mesh.js';", 'constructs/'],
    ['mesh/model/load.ts', "import { ApiObject } from 'cdk8s';", 'cdk8s'],
    ['mesh/explain/explain.ts', "import type { IConstruct } from 'constructs';", 'constructs'],
    ['mesh/validator/validate.ts', "import { App } from '../../constructs/app.js';", 'constructs/'],
    [
      'mesh/model/query.ts',
      "import { CoreV1Api } from '@kubernetes/client-node';",
      '@kubernetes/client-node',
    ],
  ])('fails if %s has %s', (file, text, what) => {
    const v = violations({ [file]: text });
    expect(v).toHaveLength(1);
    expect(v[0]).toContain(`(${what})`);
  });

  const NETWORKING = '../../imports/networking.istio.io.js';
  test.each([
    ['operator/adapters/istio-router.ts', `import { VirtualService } from '${NETWORKING}';`],
    [
      'operator/adapters/istio-router.ts',
      `import { type VirtualServiceSpec, VirtualService } from '${NETWORKING}';`,
    ],
    ['operator/runtime/operator.ts', `const m = await import('${NETWORKING}');`],
    ['mesh/model/types.ts', `import * as networking from '${NETWORKING}';`],
    ['mesh/model/types.ts', `import '${NETWORKING}';`],
    ['mesh/model/index.ts', `export { VirtualService } from '${NETWORKING}';`],
  ])('fails if %s takes imports/ as a value: %s', (file, text) => {
    const v = violations({ [file]: text });
    expect(v).toHaveLength(1);
    expect(v[0]).toBe(
      `${file} imports '${NETWORKING}' as a value (imports/): only import type: ${RULES.find((r) => file.startsWith(r.from) && r.typesOnly)!.why}`,
    );
  });

  test('allowed arrows pass', () => {
    expect(
      violations({
        'constructs/app.ts':
          "import { k8s } from 'cdk8s-plus-28';\nimport * as istio from '../imports/networking.istio.io.js';",
        'operator/core/decide.ts':
          "import { z } from 'zod';\nimport type { CanaryRelease } from '../../api/v1alpha1/canary-release.js';",
        'operator/adapters/istio-router.ts': `import type { VirtualServiceSpec } from '${NETWORKING}';`,
        'operator/adapters/other.ts': `import { type VirtualServiceSpec, type VirtualServiceSpecHttp } from '${NETWORKING}';`,
        'mesh/model/types.ts': `import type * as networking from '${NETWORKING}';\nexport type { VirtualServiceSpec } from '${NETWORKING}';`,
        'mesh/model/other.ts': `export type Spec = import('${NETWORKING}').VirtualServiceSpec;`,
      }),
    ).toEqual([]);
  });
});
