/**
 * Enforces the one-way arrows of docs/architecture: api, imports ← mesh (the model) ← constructs,
 * api ← operator; the model never imports cdk8s or constructs/; the operator never pulls in cdk8s
 * or constructs/; operator/core does no I/O; nothing but tests and benchmarks imports test/; and
 * no import cycle anywhere in what ships.
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
    forbid: [
      'constructs/',
      'imports/',
      'cli/',
      'examples/',
      'test/',
      'bench/',
      'cdk8s',
      'cdk8s-plus-28',
      'constructs',
    ],
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
    else if (e.isFile() && /\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
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

/** Every violation of `rules` in `files` (path → source text). */
export function violations(files: Record<string, string>, rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    for (const rule of rules.filter((r) => file.startsWith(r.from))) {
      for (const spec of specs) {
        const t = target(file, spec);
        const bad = rule.forbid.find((f) => (f.endsWith('/') ? t.startsWith(f) : t === f));
        if (bad) found.push(`${file} imports '${spec}' (${bad}): ${rule.why}`);
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
    const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
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

const SHIPPED = ['api', 'imports', 'mesh', 'constructs', 'operator', 'cli', 'examples'];

function repoFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of SHIPPED) for (const f of sourceFiles(dir)) files[f] = readFileSync(join(root, f), 'utf8');
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

  test('allowed arrows pass', () => {
    expect(
      violations({
        'constructs/app.ts':
          "import { k8s } from 'cdk8s-plus-28';\nimport * as istio from '../imports/networking.istio.io.js';",
        'operator/core/decide.ts':
          "import { z } from 'zod';\nimport type { CanaryRelease } from '../../api/v1alpha1/canary-release.js';",
      }),
    ).toEqual([]);
  });
});
