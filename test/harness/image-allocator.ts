/**
 * The allocator the operator's image preloads (image/node-flags.ts), for operator processes the
 * harness starts on this machine: the same file, from the same pinned Debian package, kept in the
 * image cache under its package version.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cacheDir, DEBIAN_PACKAGES, debianFile } from '../../image/contents.js';
import { JEMALLOC } from '../../image/node-flags.js';

export function imageAllocator(): string {
  const pinned = DEBIAN_PACKAGES.find((p) => p.name === JEMALLOC.package);
  if (!pinned) throw new Error(`image/contents.ts pins no ${JEMALLOC.package}`);
  const dir = join(cacheDir(), 'lib', `${pinned.name}_${pinned.version}`);
  const file = join(dir, basename(JEMALLOC.path));
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, debianFile(pinned.name, JEMALLOC.path));
    renameSync(tmp, file);
  }
  return file;
}
