/**
 * The image builder's parts without the network: the tar writer read back (ustar, PAX long
 * paths, links), the same inputs giving the same bytes and digests, the OCI layout's files naming
 * each other correctly, the operator's own layers rebuilt from the checkout byte for byte, and a
 * runtime's layer application honouring whiteouts.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { bundleOperator, imageNodeMajor, type OperatorBundle } from '../../../image/bundle.js';
import { operatorLayer } from '../../../image/contents.js';
import { assembleImage, compress, layerOf, layoutFiles, layoutTarball, sha256 } from '../../../image/oci.js';
import { readTar, writeTar, type TarEntry } from '../../../image/tar.js';
import { applyLayer } from '../../harness/pod-runtime.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const file = (path: string, data: string, mode = 0o644, uid = 0): TarEntry => ({
  type: 'file',
  path,
  data: Buffer.from(data),
  mode,
  uid,
  gid: uid,
});
const dir = (path: string, mode = 0o755, uid = 0): TarEntry => ({ type: 'dir', path, mode, uid, gid: uid });

const RUN = {
  User: '65532:65532',
  Env: ['PATH=/usr/local/bin'],
  Entrypoint: ['/usr/local/bin/node', '/app/main.js'],
  WorkingDir: '/app',
  Labels: { 'org.opencontainers.image.version': '1.0.0' },
};

describe('tar', () => {
  test('what it writes reads back: modes, owners, long paths (ustar prefix and PAX), links', () => {
    const long = `a/${'b'.repeat(120)}/c.js`; // fits prefix + name
    const veryLong = `${'d'.repeat(150)}/${'e'.repeat(150)}.js`; // needs a PAX path record
    const entries: TarEntry[] = [
      dir('a', 0o755),
      file(long, 'x', 0o755, 65532),
      file(veryLong, 'y'.repeat(1000)),
      {
        type: 'symlink',
        path: 'lib64/ld.so',
        target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
        uid: 0,
        gid: 0,
      },
      { type: 'symlink', path: 'l', target: 't'.repeat(130), uid: 0, gid: 0 },
      dir('tmp', 0o1777),
    ];
    const tar = writeTar(entries);
    expect(tar.length % 512).toBe(0);
    expect(
      readTar(tar).map((e) => [e.path, e.type, e.mode, e.uid, e.target, e.data.toString().length]),
    ).toStrictEqual([
      ['a', 'dir', 0o755, 0, '', 0],
      [long, 'file', 0o755, 65532, '', 1],
      [veryLong, 'file', 0o644, 0, '', 1000],
      ['lib64/ld.so', 'symlink', 0o777, 0, '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 0],
      ['l', 'symlink', 0o777, 0, 't'.repeat(130), 0],
      ['tmp', 'dir', 0o1777, 0, '', 0],
    ]);
  });

  test('fails if an entry leaves the root', () => {
    expect(() => writeTar([file('../etc/passwd', 'x')])).toThrow(
      'tar: entry path "../etc/passwd" must be relative and stay inside the root',
    );
  });

  test('the same entries give the same bytes, whatever time it is', async () => {
    const entries = [dir('app'), file('app/x.js', 'export {}\n')];
    const a = writeTar(entries);
    await new Promise((r) => setTimeout(r, 1100));
    expect(sha256(writeTar(entries))).toBe(sha256(a));
    expect(sha256(compress(a))).toBe(sha256(compress(writeTar(entries))));
    // gzip header: no name flag, mtime 0
    expect([...compress(a).subarray(3, 8)]).toStrictEqual([0, 0, 0, 0, 0]);
  });
});

describe('the OCI image and its layout', () => {
  const tar1 = writeTar([dir('app'), file('app/main.js', 'console.log(1)\n')]);
  const tar2 = writeTar([file('app/package.json', '{"type":"module"}\n')]);
  const layers = [layerOf('one', tar1, compress(tar1)), layerOf('two', tar2, compress(tar2))];
  const image = assembleImage({ layers, run: RUN, reference: 'registry.test/op:1.0.0' });

  test('the config lists the diff_ids of the uncompressed layers; the manifest names the compressed blobs', () => {
    const config = JSON.parse(image.config.toString()) as {
      rootfs: { diff_ids: string[] };
      config: typeof RUN;
      created: string;
    };
    expect(config.rootfs.diff_ids).toStrictEqual([`sha256:${sha256(tar1)}`, `sha256:${sha256(tar2)}`]);
    expect(config.config.User).toBe('65532:65532');
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    const manifest = JSON.parse(image.manifest.toString()) as {
      config: { digest: string };
      layers: { digest: string; size: number; mediaType: string }[];
      annotations: Record<string, string>;
    };
    expect(manifest.config.digest).toBe(`sha256:${sha256(image.config)}`);
    expect(manifest.layers.map((l) => [l.digest, l.size, l.mediaType])).toStrictEqual(
      layers.map((l) => [
        `sha256:${sha256(l.blob)}`,
        l.blob.length,
        'application/vnd.oci.image.layer.v1.tar+gzip',
      ]),
    );
    expect(manifest.annotations['org.opencontainers.image.version']).toBe('1.0.0');
    expect(image.manifestDescriptor.digest).toBe(`sha256:${sha256(image.manifest)}`);
  });

  test('the same layers and config give the same digest', () => {
    const again = assembleImage({
      layers: [layerOf('one', tar1, compress(tar1)), layerOf('two', tar2, compress(tar2))],
      run: { ...RUN },
      reference: 'registry.test/op:1.0.0',
    });
    expect(again.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    const other = assembleImage({ layers, run: { ...RUN, User: '0' }, reference: 'registry.test/op:1.0.0' });
    expect(other.manifestDescriptor.digest).not.toBe(image.manifestDescriptor.digest);
  });

  test('index.json, manifest.json (docker load) and every blob refer to each other by digest', () => {
    const files = new Map(layoutFiles(image));
    expect(JSON.parse(files.get('oci-layout')!.toString())).toStrictEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(files.get('index.json')!.toString()) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.digest).toBe(image.manifestDescriptor.digest);
    expect(index.manifests[0]!.annotations).toStrictEqual({
      'io.containerd.image.name': 'registry.test/op:1.0.0',
      'org.opencontainers.image.ref.name': '1.0.0',
    });
    const docker = JSON.parse(files.get('manifest.json')!.toString()) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(docker).toStrictEqual([
      {
        Config: `blobs/sha256/${sha256(image.config)}`,
        RepoTags: ['registry.test/op:1.0.0'],
        Layers: layers.map((l) => `blobs/sha256/${sha256(l.blob)}`),
      },
    ]);
    for (const [path, data] of files)
      if (path.startsWith('blobs/')) expect(`blobs/sha256/${sha256(data)}`).toBe(path);
    // the tarball holds the same files
    const inTar = readTar(layoutTarball(image)).filter((e) => e.type === 'file');
    expect(inTar.map((e) => [e.path, sha256(e.data)])).toStrictEqual(
      [...files].map(([p, d]) => [p, sha256(d)]),
    );
    expect(gunzipSync(files.get(`blobs/sha256/${sha256(layers[0]!.blob)}`)!)).toStrictEqual(tar1);
  });

  test('fails if the reference has no tag', () => {
    const untagged = assembleImage({ layers, run: RUN, reference: 'registry.test:5000/op' });
    expect(() => layoutFiles(untagged)).toThrow('image reference "registry.test:5000/op" has no tag');
  });
});

describe("the operator's layer, from this checkout", () => {
  let bundle: OperatorBundle;
  beforeAll(() => {
    bundle = bundleOperator(root, imageNodeMajor(root));
  }, 120_000);

  test('main.ts reaches the operator and api modules only; imports/ types are erased', () => {
    expect(bundle.sources).toContain('operator/main.ts');
    expect(bundle.sources.filter((p) => !p.startsWith('operator/') && !p.startsWith('api/'))).toStrictEqual(
      [],
    );
  });

  test('it bundles production packages of the lockfile, without @types, cdk8s or test tools', () => {
    const names = bundle.packages.map((p) => p.name);
    for (const used of ['@kubernetes/client-node', 'js-yaml', 'prom-client', 'zod', 'undici'])
      expect(names).toContain(used);
    expect(names.filter((n) => /@types\/|cdk8s|constructs|typescript|jest|esbuild/.test(n))).toStrictEqual(
      [],
    );
    expect(bundle.packages.find((p) => p.name === 'undici')!.licences.map((l) => l.file)).toContain(
      'LICENSE',
    );
  });

  test('tree-shaken: the bundle is a small part of the code it was made from', () => {
    // client-node alone is about 17 MB of JavaScript, nearly all of it API classes the operator never calls
    expect(bundle.inputBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(bundle.code.length).toBeLessThan(bundle.inputBytes / 4);
    expect(bundle.code.toString('utf8')).not.toContain('CoreV1Api'); // an API class the operator does not use
  });

  test('one module and licences: no node_modules in the layer, the same bytes when built twice', () => {
    const layer = operatorLayer(bundle, '0.1.0');
    const files = layer.filter((e) => e.type === 'file').map((e) => e.path);
    expect(files.filter((p) => p.endsWith('.js'))).toStrictEqual(['app/operator/main.js']);
    expect(files.filter((p) => p.includes('node_modules'))).toStrictEqual([]);
    expect(files).toContain('app/package.json');
    expect(files.filter((p) => p.startsWith('app/licenses/@kubernetes/client-node@')).length).toBeGreaterThan(
      0,
    );
    const again = bundleOperator(root, imageNodeMajor(root));
    expect(sha256(again.code)).toBe(sha256(bundle.code));
    expect(sha256(writeTar(operatorLayer(again, '0.1.0')))).toBe(sha256(writeTar(layer)));
  });
});

describe('applying layers as a runtime does', () => {
  let rootfs: string;
  beforeEach(() => {
    rootfs = mkdtempSync(join(tmpdir(), 'image-layers-'));
  });
  afterEach(() => rmSync(rootfs, { recursive: true, force: true }));
  const apply = (entries: TarEntry[]) => applyLayer(rootfs, readTar(writeTar(entries)));
  const tree = (d = rootfs, rel = ''): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((n) => {
        const p = join(d, n);
        const r = rel ? `${rel}/${n}` : n;
        const st = statSync(p, { throwIfNoEntry: false });
        return st?.isDirectory() ? [`${r}/`, ...tree(p, r)] : [r];
      });

  test('later layers win, .wh.NAME deletes, .wh..wh..opq empties the directory of lower layers only', () => {
    apply([
      dir('a'),
      file('a/x', '1'),
      file('a/y', '1'),
      dir('b'),
      file('b/old', '1'),
      dir('b/sub'),
      file('b/sub/deep', '1'),
      file('c', 'file'),
      { type: 'symlink', path: 'link', target: 'a/y', uid: 0, gid: 0 },
    ]);
    apply([
      file('a/.wh.x', ''),
      file('a/y', '2', 0o755),
      file('b/.wh..wh..opq', ''),
      file('b/new', '2'),
      dir('c'), // a directory replaces the file
      file('c/inside', '2'),
    ]);
    expect(tree()).toStrictEqual(['a/', 'a/y', 'b/', 'b/new', 'c/', 'c/inside', 'link']);
    expect(readFileSync(join(rootfs, 'a/y'), 'utf8')).toBe('2');
    expect(statSync(join(rootfs, 'a/y')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(rootfs, 'link'))).toBe('a/y');
  });

  test('fails if an entry would be written through a symlink out of the root', () => {
    apply([{ type: 'symlink', path: 'escape', target: '/tmp', uid: 0, gid: 0 }]);
    expect(() => apply([file('escape/pwned', 'x')])).toThrow(
      'layer entry "escape/pwned" resolves outside the root',
    );
  });
});
