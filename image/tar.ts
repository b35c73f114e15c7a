/**
 * The tar format of image layers, written and read in memory: POSIX ustar headers, with a PAX
 * extended header when a path or link target does not fit. The writer is deterministic: entries
 * are written in the order given, every mtime is the one passed (the image uses 0), owners are
 * numeric with empty user and group names, and nothing of the machine that builds it leaks in.
 */

/** One entry of a layer. Paths are relative to the root (`usr/local/bin/node`), without a leading slash. */
export type TarEntry =
  | {
      readonly type: 'dir';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
    }
  | {
      readonly type: 'file';
      readonly path: string;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly data: Buffer;
    }
  | {
      readonly type: 'symlink' | 'hardlink';
      readonly path: string;
      readonly target: string;
      readonly uid: number;
      readonly gid: number;
      readonly mode?: number;
    };

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width - 1 digits and a NUL, as GNU tar and Go's archive/tar write them
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function putString(buf: Buffer, offset: number, width: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > width) throw new Error(`tar: "${s}" is longer than its ${width}-byte field`);
  b.copy(buf, offset);
}

/** Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes) at a slash, when it can. */
function splitUstar(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0)
      return { prefix, name };
  }
  return undefined;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, fields.name);
  putString(h, 100, 8, octal(fields.mode & 0o7777, 8));
  putString(h, 108, 8, octal(fields.uid, 8));
  putString(h, 116, 8, octal(fields.gid, 8));
  putString(h, 124, 12, octal(fields.size, 12));
  putString(h, 136, 12, octal(fields.mtime, 12));
  h.fill(0x20, 148, 156); // checksum is computed over spaces
  putString(h, 156, 1, fields.typeflag);
  putString(h, 157, 100, fields.linkname);
  putString(h, 257, 6, 'ustar\0');
  putString(h, 263, 2, '00');
  putString(h, 329, 8, octal(0, 8));
  putString(h, 337, 8, octal(0, 8));
  putString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  putString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** A PAX record: `<length> <key>=<value>\n`, where the length counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** A regular file owned by root, readable by all (`mode` 0644 unless given). */
export function rootFile(path: string, data: Buffer, mode = 0o644): TarEntry {
  return { type: 'file', path, data, mode, uid: 0, gid: 0 };
}

/** Writes `entries` as one tar archive (ending with the two zero blocks). */
export function writeTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').includes('..'))
      throw new Error(`tar: entry path "${e.path}" must be relative and stay inside the root`);
    const path = e.type === 'dir' ? `${e.path.replace(/\/$/, '')}/` : e.path;
    const link = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
    const split = splitUstar(path);
    const pax: string[] = [];
    if (!split) pax.push(paxRecord('path', path));
    if (Buffer.byteLength(link) > 100) pax.push(paxRecord('linkpath', link));
    if (pax.length) {
      const data = Buffer.from(pax.join(''), 'utf8');
      out.push(
        header({
          name: 'PaxHeader',
          prefix: '',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: data.length,
          mtime,
          typeflag: 'x',
          linkname: '',
        }),
        ...padded(data),
      );
    }
    const short = split ?? { prefix: '', name: path.slice(-100).replace(/^[^/]*\//, '') || 'long' };
    const data = e.type === 'file' ? e.data : Buffer.alloc(0);
    out.push(
      header({
        ...short,
        mode: e.mode ?? 0o777,
        uid: e.uid,
        gid: e.gid,
        size: data.length,
        mtime,
        typeflag: { file: '0', dir: '5', symlink: '2', hardlink: '1' }[e.type],
        linkname: Buffer.byteLength(link) > 100 ? '' : link,
      }),
    );
    if (data.length) out.push(...padded(data));
  }
  out.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(out);
}

/** An entry as read back: what a container runtime needs to apply a layer. */
export interface ReadEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly target: string;
  readonly data: Buffer;
}

function field(h: Buffer, offset: number, width: number): string {
  const raw = h.subarray(offset, offset + width);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? width : end).toString('utf8');
}

function num(h: Buffer, offset: number, width: number): number {
  const s = field(h, offset, width).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const len = Number(data.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) throw new Error(`tar: malformed PAX record at byte ${i}`);
    const rec = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Reads a whole tar archive (ustar, PAX and GNU long names), in archive order. */
export function readTar(buf: Buffer): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = pax.size !== undefined ? Number(pax.size) : num(h, 124, 12);
    const typeflag = String.fromCharCode(h[156] ?? 0);
    const dataStart = off + BLOCK;
    const data = buf.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new Error(`tar: entry at byte ${off} is cut short`);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      pax = { ...pax, ...parsePax(data) };
      continue;
    }
    if (typeflag === 'g') continue;
    if (typeflag === 'L' || typeflag === 'K') {
      const s = data.toString('utf8').replace(/\0+$/, '');
      if (typeflag === 'L') longName = s;
      else longLink = s;
      continue;
    }
    const prefix = field(h, 345, 155);
    const name = field(h, 0, 100);
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const target = pax.linkpath ?? longLink ?? field(h, 157, 100);
    const type =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? 'file'
        : typeflag === '5'
          ? 'dir'
          : typeflag === '2'
            ? 'symlink'
            : typeflag === '1'
              ? 'hardlink'
              : 'other';
    entries.push({
      path: path.replace(/^(\.\/|\/)+/, '').replace(/\/$/, ''),
      type,
      mode: num(h, 100, 8),
      uid: pax.uid !== undefined ? Number(pax.uid) : num(h, 108, 8),
      gid: pax.gid !== undefined ? Number(pax.gid) : num(h, 116, 8),
      target,
      data: type === 'file' ? Buffer.from(data) : Buffer.alloc(0),
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}
