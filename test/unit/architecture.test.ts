/**
 * Enforces the one-way arrows of docs/architecture: imports ← constructs, api ← constructs,
 * api ← operator; the operator never pulls in cdk8s or constructs/; operator/core does no I/O;
 * nothing but tests and benchmarks imports test/.
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
    from: 'constructs/',
    forbid: ['operator/', 'cli/', 'examples/', 'test/', 'bench/', '@kubernetes/client-node'],
    why: 'constructs build on api/ and imports/ only',
  },
  {
    from: 'imports/',
    forbid: ['api/', 'constructs/', 'operator/', 'cli/', 'test/'],
    why: 'imports/ is generated',
  },
  { from: 'examples/', forbid: ['operator/', 'cli/', 'test/', 'bench/'], why: 'examples use the constructs' },
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

describe('architecture arrows', () => {
  test('the repository has no import against the arrows', () => {
    const files: Record<string, string> = {};
    for (const dir of ['api', 'imports', 'constructs', 'operator', 'cli', 'examples']) {
      for (const f of sourceFiles(dir)) files[f] = readFileSync(join(root, f), 'utf8');
    }
    expect(Object.keys(files).length).toBeGreaterThan(0);
    expect(violations(files)).toEqual([]);
  });

  test.each([
    ['operator/runtime/main.ts', "import { App } from '../../constructs/app.js';", 'constructs/'],
    ['operator/adapters/x.ts', "import { Chart } from 'cdk8s';", 'cdk8s'],
    ['operator/core/decide.ts', "import * as k8s from '@kubernetes/client-node';", '@kubernetes/client-node'],
    ['operator/core/decide.ts', "import { readFileSync } from 'node:fs';", 'node:fs'],
    ['operator/core/decide.ts', "export { x } from '../adapters/prometheus.js';", 'operator/adapters/'],
    ['cli/main.ts', "const h = await import('../test/harness/cluster.js');", 'test/'],
    ['api/canary.ts', "import { Mesh } from '../constructs/mesh.js';", 'constructs/'],
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
