/**
 * The allocator the operator's image preloads (image/node-flags.ts), for operator processes the
 * harness starts on this machine: the same file, from the same pinned Debian package, kept in the
 * image cache under its package version and digest.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cacheDir, debianFile, pinnedDebian } from '../../image/contents.js';
import { JEMALLOC } from '../../image/node-flags.js';

export function imageAllocator(): string {
  const pinned = pinnedDebian(JEMALLOC.package);
  // keyed by the .deb's digest too: a re-pinned package with the same version string is read anew
  const dir = join(cacheDir(), 'lib', `${pinned.name}_${pinned.version}_${pinned.sha256.slice(0, 12)}`);
  const file = join(dir, basename(JEMALLOC.path));
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, debianFile(pinned.name, JEMALLOC.path));
    renameSync(tmp, file);
  }
  return file;
}
