/**
 * The compiled `cdk8s-mesh` for tests and benchmarks that run it as a whole process:
 * lib/cli/bin.js when `npm run build` output is newer than every source the CLI loads, otherwise
 * a build of the CLI alone (bin.ts and what it imports, ≈30 s) into build/cli-bin-test.
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
  const lib = join(repo, 'lib/cli/bin.js');
  const sources = Math.max(...['cli', 'mesh', 'operator', 'api'].map((d) => newest(join(repo, d))));
  if (existsSync(lib) && statSync(lib).mtimeMs > sources) return lib;
  const out = join(repo, 'build/cli-bin-test');
  const bin = join(out, 'cli/bin.js');
  if (existsSync(bin) && statSync(bin).mtimeMs > sources) return bin;
  mkdirSync(out, { recursive: true });
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: '../../tsconfig.build.json',
      compilerOptions: { declaration: false, outDir: '.', rootDir: '../..', incremental: false },
      include: ['../../cli/bin.ts'],
      exclude: [],
    }),
  );
  execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
    stdio: 'inherit',
  });
  return bin;
}
