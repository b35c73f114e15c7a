/**
 * The README is the front door and docs/ the reference. Every TypeScript example in them runs as
 * written (its `cdk8s-mesh` imports resolved to this repository's sources) and type-checks; the
 * rule table matches the validator's rules, the metrics table the operator's metrics; every
 * relative link points to a file (and heading) that exists; and the test command the README gives
 * is the one CI runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testing } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { parseSpec } from '../../api/v1alpha1/index.js';
import { App, Mesh } from '../../constructs/index.js';
import { RULES } from '../../mesh/validator/rules/index.js';
import { OperatorMetrics } from '../../operator/runtime/metrics.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The package's entry points as the examples import them (`cdk8s-mesh`, `cdk8s-mesh/model`, …), each
 * with its source in this repository: package.json's `exports`, whose `./lib/<path>.js` is built
 * from `<path>.ts`.
 */
const ENTRY_POINTS: Record<string, string> = Object.fromEntries(
  Object.entries(
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> })
      .exports,
  )
    .filter(([key]) => key !== './package.json')
    .map(([key, value]) => {
      const target = (value as { import?: { default?: string } }).import?.default ?? String(value);
      const source = /^\.\/lib\/(.+)\.js$/.exec(target)?.[1];
      if (!source)
        throw new Error(`package.json exports ${key}: ${target} is not built from a source in lib/`);
      return [key === '.' ? 'cdk8s-mesh' : `cdk8s-mesh/${key.slice(2)}`, `${source}.ts`];
    }),
);

/** README.md and every page of docs/, by path from the repository root. */
const pages: Record<string, string> = Object.fromEntries(
  [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ].map((p) => [p, readFileSync(join(root, p), 'utf8')]),
);
const readme = pages['README.md']!;

/** The text with its fenced code blocks blanked (line numbers kept). */
const withoutCode = (markdown: string) =>
  markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\S\n]*$/gm, (block) => block.replace(/[^\n]/g, ''));

/** GitHub's anchor of a heading: its text without markup, lower case, punctuation dropped, spaces as dashes. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorsOf = (markdown: string) =>
  new Set([...withoutCode(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)].map((m) => slug(m[1]!)));

/**
 * Every relative link or image of `markdown` (the text of `file`, a path from the repository root)
 * whose file does not exist, or whose `#anchor` names no heading of the page it points to.
 */
export function brokenLinks(markdown: string, file: string): string[] {
  const broken: string[] = [];
  for (const m of withoutCode(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const link = m[1]!;
    if (/^[a-z][a-z\d+.-]*:/i.test(link)) continue; // https:, mailto:
    const [path, anchor] = link.split('#', 2) as [string, string | undefined];
    const target = path ? relative(root, resolve(root, dirname(file), decodeURI(path))) : file;
    if (path && !existsSync(join(root, target))) {
      broken.push(`${file}: ${link}: no file ${target}`);
      continue;
    }
    if (anchor === undefined || !target.endsWith('.md')) continue;
    const text = path ? readFileSync(join(root, target), 'utf8') : markdown;
    if (!anchorsOf(text).has(anchor)) broken.push(`${file}: ${link}: no heading #${anchor} in ${target}`);
  }
  return broken;
}

interface Example {
  /** `docs/explain.md #2`: the page and the example's place among the page's TypeScript blocks. */
  readonly name: string;
  /** File name under the examples directory: `.test.ts` for a Jest test, else `.ts`. */
  readonly file: string;
  readonly code: string;
  readonly jest: boolean;
}

const examples: Example[] = Object.entries(pages).flatMap(([page, text]) =>
  [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m, i) => {
    const code = m[1]!;
    const jest = /^\s*(test|it|describe)\(/m.test(code);
    const base = `${page.replace(/\.md$/, '').replace(/\W/g, '-')}-${i + 1}`;
    return { name: `${page} #${i + 1}`, file: jest ? `${base}.test.ts` : `${base}.ts`, code, jest };
  }),
);
const programs = examples.filter((e) => !e.jest);
const jestExamples = examples.filter((e) => e.jest);

/** The examples, written next to the repository's sources with a tsconfig that maps `cdk8s-mesh…`. */
let dir = '';
beforeAll(() => {
  dir = join(root, `.docs-examples-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const e of examples) writeFileSync(join(dir, e.file), e.code);
  const paths = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([k, v]) => [k, [`../${v}`]]));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '..', paths },
      include: ['*.ts'],
    }),
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const node24 = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, CDK8S_MESH_WARNINGS: 'off', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });

/** The lines of comment a block ends with: what it prints (up to a trailing `…`). */
const documentedOutput = (code: string) =>
  (/(?:^|\n)((?:\/\/ [^\n]*\n)+)$/.exec(code)?.[1] ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3).replace(/\s*…$/, ''));

test('the README and docs hold TypeScript examples, the README one that imports cdk8s-mesh', () => {
  expect(programs.length).toBeGreaterThanOrEqual(3);
  expect(jestExamples.length).toBeGreaterThanOrEqual(1);
  expect(examples.filter((e) => e.name.startsWith('README.md')).map((e) => e.code)).toEqual([
    expect.stringContaining("from 'cdk8s-mesh';"),
  ]);
});

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Where cdk8s wrote its YAML (CDK8S_OUTDIR). */
  readonly out: string;
}

/** Runs a program example once with tsx, the way the README's users run theirs. */
const runs = new Map<Example, Run>();
function run(e: Example): Run {
  let r = runs.get(e);
  if (!r) {
    const out = mkdtempSync(join(tmpdir(), 'docs-example-'));
    const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
    const p = node24([tsx, '--tsconfig', join(dir, 'tsconfig.json'), join(dir, e.file)], {
      CDK8S_OUTDIR: out,
    });
    r = { status: p.status, stdout: p.stdout, stderr: p.stderr, out };
    runs.set(e, r);
  }
  return r;
}
afterAll(() => {
  for (const r of runs.values()) rmSync(r.out, { recursive: true, force: true });
});

test.each(programs.map((e) => [e.name, e] as const))(
  '%s runs as written and prints what it says',
  (_, e) => {
    const r = run(e);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    for (const line of documentedOutput(e.code)) expect(r.stdout).toContain(line);
  },
  120_000,
);

test('the Jest examples pass as written', () => {
  const mapper = Object.fromEntries(
    Object.entries(ENTRY_POINTS).map(([k, v]) => [`^${k.replace(/[/-]/g, '\\$&')}$`, `<rootDir>/${v}`]),
  );
  const config = join(dir, 'jest.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      rootDir: root,
      roots: [dir],
      testMatch: [`${dir}/*.test.ts`],
      transform: {
        '^.+\\.ts$': [
          '@swc/jest',
          { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
        ],
      },
      extensionsToTreatAsEsm: ['.ts'],
      moduleNameMapper: { ...mapper, '^(\\.{1,2}/.*)\\.js$': '$1' },
      testEnvironment: 'node',
    }),
  );
  const r = node24([
    '--experimental-vm-modules',
    join(root, 'node_modules/jest/bin/jest.js'),
    '--config',
    config,
    '--ci',
    '--json',
  ]);
  const report = JSON.parse(r.stdout) as {
    numPassedTests: number;
    numFailedTests: number;
    testResults: { name: string; message: string }[];
  };
  expect(report.testResults.map((t) => [relative(dir, t.name), t.message])).toEqual(
    jestExamples.map((e) => [e.file, '']),
  );
  expect(report.numFailedTests).toBe(0);
  expect(report.numPassedTests).toBeGreaterThanOrEqual(jestExamples.length);
}, 120_000);

test('every example type-checks, the cdk8s-mesh entry points resolved to their sources', () => {
  let output = '';
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (e) {
    output = String((e as { stdout?: string }).stdout) || String(e);
  }
  expect(output).toBe('');
}, 240_000);

test('the short example synthesizes the policy its comment promises', () => {
  const example = examples.find((e) => e.name === 'README.md #1')!;
  expect(example.code).toContain("new ZeroTrustPolicy(mesh, 'zero-trust')");
  const r = run(example);
  expect(r.status).toBe(0);
  expect(readFileSync(join(r.out, 'bookinfo.k8s.yaml'), 'utf8')).toMatch(
    /name: reviews-viewer[\s\S]*principals:\n\s+- cluster\.local\/ns\/default\/sa\/productpage[\s\S]*- GET/,
  );
}, 120_000);

test('every CanaryRelease the docs show is a valid spec', () => {
  const releases = Object.values(pages)
    .flatMap((text) =>
      [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => parseYaml(m[1]!) as unknown),
    )
    .filter(
      (doc): doc is { kind: string; spec: unknown } => (doc as { kind?: unknown })?.kind === 'CanaryRelease',
    );
  expect(releases.length).toBeGreaterThanOrEqual(1);
  for (const r of releases) expect(parseSpec(r.spec)).toMatchObject({ ok: true });
});

test('the constructs page shows the very error its mistake gets', () => {
  const shown = /```text\n(MeshPropsError: [\s\S]*?)\n```/.exec(pages['docs/constructs.md']!)?.[1];
  expect(shown).toContain('routes[1].to: route weights sum to 90 (v1=50, v3=40)');
  const reviews = new App(new Mesh(Testing.app(), 'bookinfo'), 'reviews', {
    image: 'reviews-{version}',
    versions: ['v1', 'v2', 'v3'],
  });
  reviews.addRoute({ match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] });
  let error: unknown;
  try {
    reviews.addRoute({
      to: [
        { subset: 'v1', weight: 50 },
        { subset: 'v3', weight: 40 },
      ],
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Error);
  expect(`${(error as Error).name}: ${(error as Error).message}`).toBe(shown);
});

test('the README names every entry point of the package, each built from a source that exists', () => {
  expect(ENTRY_POINTS).toEqual({
    'cdk8s-mesh': 'constructs/index.ts',
    'cdk8s-mesh/model': 'mesh/index.ts',
    'cdk8s-mesh/testing': 'mesh/explain/matchers.ts',
    'cdk8s-mesh/api': 'api/v1alpha1/index.ts',
  });
  const listed = [...readme.matchAll(/^\|\s*`(cdk8s-mesh[\w/]*)`\s*\|/gm)].map((m) => m[1]);
  expect(listed.sort()).toEqual(Object.keys(ENTRY_POINTS).sort());
  for (const source of Object.values(ENTRY_POINTS)) expect(existsSync(join(root, source))).toBe(true);
});

test('one page lists every validator rule with its severity, mirrored codes and title', () => {
  const row = /^\|\s*`(MESH\d+)`\s*\|\s*(\w+)\s*\|([^|]+)\|([^|]+)\|$/m;
  const holders = Object.keys(pages).filter((p) => row.test(pages[p]!));
  expect(holders).toHaveLength(1);
  const rows = new Map(
    [...pages[holders[0]!]!.matchAll(new RegExp(row.source, 'gm'))].map((m) => [
      m[1],
      { severity: m[2], mirrors: m[3]!.trim(), title: m[4]!.trim() },
    ]),
  );
  expect(RULES.length).toBeGreaterThanOrEqual(25);
  expect([...rows.keys()].sort()).toEqual(RULES.map((r) => r.code).sort());
  for (const r of RULES) {
    expect(rows.get(r.code)).toEqual({
      severity: r.severity,
      mirrors: r.mirrors.length ? r.mirrors.join(', ') : '–',
      title: r.title,
    });
  }
});

test("one page lists every metric of the operator's /metrics page", async () => {
  const table = /^\| metric \(`canary_operator_…`\)[^\n]*\n((?:\|.*\n)+)/m;
  const holders = Object.keys(pages).filter((p) => table.test(pages[p]!));
  expect(holders).toHaveLength(1);
  const section = table.exec(pages[holders[0]!]!)![1]!;
  // Metrics are in each row's first cell; the description may quote label values such as `hit`.
  const listed = section
    .split('\n')
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`(\w+)(?:\{[\w,]+\})?`/g)])
    .map((m) => `canary_operator_${m[1]}`);
  const registered = (await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
  expect(registered.length).toBeGreaterThan(10);
  expect([...new Set(listed)].sort()).toEqual([...registered].sort());
});

test('every relative link in the README and docs points to a file and heading that exist', () => {
  expect(Object.keys(pages).length).toBeGreaterThanOrEqual(10);
  expect(Object.entries(pages).flatMap(([p, text]) => brokenLinks(text, p))).toEqual([]);
});

test('fails if a link points to a missing file or heading', () => {
  const page = [
    '# Top',
    'See [the CLI](cli.md#releases), [nothing](missing.md), [no such part](cli.md#no-such-part),',
    '[the top](#top), [no top](#bottom), ![a picture](gone.svg) and [the web](https://cdk8s.io).',
    '```sh',
    'echo [in code](not-checked.md)',
    '```',
  ].join('\n');
  expect(brokenLinks(page, 'docs/page.md')).toEqual([
    'docs/page.md: missing.md: no file docs/missing.md',
    'docs/page.md: cli.md#no-such-part: no heading #no-such-part in docs/cli.md',
    'docs/page.md: #bottom: no heading #bottom in docs/page.md',
    'docs/page.md: gone.svg: no file docs/gone.svg',
  ]);
});

test('the README links every page of docs/, and some page shows every picture in docs/', () => {
  const linked = new Set(
    Object.entries(pages).flatMap(([p, text]) =>
      [...withoutCode(text).matchAll(/\]\(([^)#\s]+)/g)]
        .filter((m) => !/^[a-z]+:/i.test(m[1]!))
        .map((m) => `${p}→${relative(root, resolve(root, dirname(p), m[1]!))}`),
    ),
  );
  const docs = readdirSync(join(root, 'docs'));
  expect(docs.filter((f) => f.endsWith('.md') && !linked.has(`README.md→docs/${f}`))).toEqual([]);
  const shown = new Set([...linked].map((l) => l.split('→')[1]));
  expect(docs.filter((f) => f.endsWith('.svg') && !shown.has(`docs/${f}`))).toEqual([]);
});

test('CI runs the test command the README gives', () => {
  expect(readme).toContain('npm test ');
  expect(readFileSync(join(root, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
});
