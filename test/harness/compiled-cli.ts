/**
 * The compiled `cdk8s-mesh` (and operator) for tests and benchmarks that run it as a whole process:
 * lib/cli/bin.js when `npm run build` output is newer than every source the CLI loads, otherwise
 * a build of the CLI alone (bin.ts and what it imports, ≈30 s) into build/cli-bin-test; the same
 * for operator/main.js into build/operator-main-test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** The path of a compiled bin.js that matches the sources. */
export function compiledCli(): string {
  return compiled('cli/bin', ['cli', 'mesh', 'operator', 'api'], 'cli-bin-test');
}

/**
 * The path of a compiled `operator/main.js` that matches the sources (for tests that start and
 * kill the operator as a process many times: it starts without transpiling).
 */
export function compiledOperator(): string {
  return compiled('operator/main', ['operator', 'api'], 'operator-main-test');
}

/** `lib/<entry>.js` when newer than `sources`, else a build of `<entry>.ts` alone into build/<dir>. */
function compiled(entry: string, sourceDirs: string[], dir: string): string {
  const lib = join(repo, `lib/${entry}.js`);
  const sources = Math.max(...sourceDirs.map((d) => newest(join(repo, d))));
  if (existsSync(lib) && statSync(lib).mtimeMs > sources) return lib;
  const out = join(repo, 'build', dir);
  const bin = join(out, `${entry}.js`);
  if (existsSync(bin) && statSync(bin).mtimeMs > sources) return bin;
  mkdirSync(out, { recursive: true });
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: '../../tsconfig.build.json',
      compilerOptions: { declaration: false, outDir: '.', rootDir: '../..', incremental: false },
      include: [`../../${entry}.ts`],
      exclude: [],
    }),
  );
  execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
    stdio: 'inherit',
  });
  return bin;
}
