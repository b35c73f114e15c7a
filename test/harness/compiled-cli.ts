/**
 * The compiled `cdk8s-mesh` (and operator) for tests and benchmarks that run it as a whole process:
 * lib/cli/bin.js when `npm run build` output is newer than every source the CLI loads, otherwise
 * a build of the CLI alone (bin.ts and what it imports, ≈30 s, and the dashboard's page) into
 * build/cli-bin-test. The operator is the bundle the image ships, in build/operator-bundle.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOperator, imageNodeMajor } from '../../image/bundle.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The newest mtime of the sources under `dir` (TypeScript, and CommonJS that is copied as it is), or of every file when `all`; of `dir` itself when it is a file. */
function newest(dir: string, all = false): number {
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, all));
    else if (all || /\.(ts|cjs)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Files the CLI reads at run time from beside its modules, and its modules that tsc does not
 * compile (plain CommonJS), copied as scripts/build.sh copies them.
 */
const CLI_ASSETS = ['cli/dashboard/assets', 'mesh/model/schema/cel-runtime.cjs'];

/** The path of a compiled bin.js that matches the sources (and the dashboard's page). */
export function compiledCli(): string {
  return compiled('cli/bin', ['cli', 'mesh', 'operator', 'api'], 'cli-bin-test', CLI_ASSETS);
}

/**
 * The path of the operator as the image ships it: the esbuild bundle of `operator/main.ts`
 * (image/bundle.ts), in build/operator-bundle/operator/main.js, built again when a source, the
 * lockfile or the bundler's settings are newer. Tests and benchmarks that start the operator as a
 * process run this file with the image's Node options.
 */
export function compiledOperator(): string {
  const out = join(repo, 'build', 'operator-bundle');
  const bin = join(out, 'operator', 'main.js');
  const sources = Math.max(
    newest(join(repo, 'operator')),
    newest(join(repo, 'api')),
    statSync(join(repo, 'package-lock.json')).mtimeMs,
    statSync(join(repo, 'image', 'bundle.ts')).mtimeMs,
  );
  if (existsSync(bin) && statSync(bin).mtimeMs > sources) return bin;
  const bundle = bundleOperator(repo, imageNodeMajor(repo));
  mkdirSync(dirname(bin), { recursive: true });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ private: true, type: 'module' }) + '\n');
  // Written whole under another name, then renamed: a reader never sees half a bundle.
  const tmp = `${bin}.${process.pid}`;
  writeFileSync(tmp, bundle.code);
  renameSync(tmp, bin);
  return bin;
}

/**
 * `lib/<entry>.js` when newer than `sources` and `assets`, else a build of `<entry>.ts` alone into
 * build/<dir>, with `assets` copied beside the modules that read them.
 */
function compiled(entry: string, sourceDirs: string[], dir: string, assets: string[] = []): string {
  const lib = join(repo, `lib/${entry}.js`);
  const sources = Math.max(
    ...sourceDirs.map((d) => newest(join(repo, d))),
    ...assets.map((d) => newest(join(repo, d), true)),
  );
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
  for (const a of assets) cpSync(join(repo, a), join(out, a), { recursive: true });
  // Written last: its time says the build, assets included, is complete.
  utimesSync(bin, new Date(), new Date());
  return bin;
}
