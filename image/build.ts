/**
 * `npm run image`: the operator's OCI image, built without a container engine.
 *
 *   npm run image [-- --out DIR] [--reference NAME:TAG] [--no-cache]
 *
 * Writes `DIR/oci/` (an OCI image layout) and `DIR/operator-image.tar` (the same layout with
 * Docker's manifest.json, for `docker load`/`podman load`/`skopeo copy oci-archive:`), default
 * DIR `build/image`, and prints the image digest and sizes. Compressed layers are cached by their
 * content in `~/.cache/cdk8s-mesh/image/layers` (override the root with CDK8S_MESH_CACHE), so a
 * rebuild after a change to the operator only compresses the operator's own layer.
 */
import { OPERATOR_ENV, OPERATOR_NODE_FLAGS } from './node-flags.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleOperator } from './bundle.js';
import { baseLayer, cacheDir, nodeLayer, NONROOT, operatorLayer } from './contents.js';
import {
  assembleImage,
  compress,
  layerOf,
  layoutTarball,
  sha256,
  writeLayout,
  type Image,
  type Layer,
} from './oci.js';
import { writeTar, type TarEntry } from './tar.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The port the operator serves /metrics, /healthz and /readyz on (the Deployment's probes name it). */
export const OPERATOR_PORT = 8080;

export interface BuildOptions {
  /** The repository checkout to build from. @default this one */
  readonly root?: string;
  /** Image name and tag. @default `ghcr.io/cdk8s-mesh/operator:<package.json version>` */
  readonly reference?: string;
  /** `org.opencontainers.image.revision`. @default $IMAGE_REVISION, else `git rev-parse HEAD`, else 'unknown' */
  readonly revision?: string;
  /** `org.opencontainers.image.source`. @default $IMAGE_SOURCE, else https://github.com/cdk8s-mesh/cdk8s-mesh */
  readonly source?: string;
  /** Compress every layer again instead of reusing the cached blobs. @default false */
  readonly noCache?: boolean;
}

export interface BuiltImage {
  readonly image: Image;
  /** `sha256:…` of the manifest: what `name@sha256:…` pins. */
  readonly digest: string;
  /** Sum of the compressed layers and the config: what a registry stores and a node pulls. */
  readonly compressedBytes: number;
  /** Sum of the uncompressed layer tars: the unpacked image on a node. */
  readonly uncompressedBytes: number;
  readonly layers: readonly { name: string; compressed: number; uncompressed: number; cached: boolean }[];
}

/** A layer from its entries, its gzip blob taken from the cache when the same tar was compressed before. */
function layer(
  name: string,
  entries: readonly TarEntry[],
  noCache: boolean,
): { layer: Layer; cached: boolean } {
  const tar = writeTar(entries);
  const file = join(cacheDir(), 'layers', `${sha256(tar)}.tar.gz`);
  if (!noCache && existsSync(file)) return { layer: layerOf(name, tar, readFileSync(file)), cached: true };
  const blob = compress(tar);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, blob);
  renameSync(tmp, file);
  return { layer: layerOf(name, tar, blob), cached: false };
}

function gitRevision(root: string): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

/** Builds the operator image in memory (layers cached on disk); write it with `writeImage`. */
export function buildOperatorImage(opts: BuildOptions = {}): BuiltImage {
  const root = opts.root ?? ROOT;
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
  const reference = opts.reference ?? `ghcr.io/cdk8s-mesh/operator:${version}`;
  const node = nodeLayer(root);
  const bundle = bundleOperator(root, Number(node.version.split('.')[0]));
  const parts: [string, TarEntry[]][] = [
    ['base: Debian runtime libraries, CA certificates, users', baseLayer()],
    [`node: Node.js ${node.version}`, node.entries],
    ["operator: one bundled module and its packages' licences", operatorLayer(bundle, version)],
  ];
  const built = parts.map(([name, entries]) => layer(name, entries, opts.noCache ?? false));
  const image = assembleImage({
    reference,
    layers: built.map((b) => b.layer),
    run: {
      User: `${NONROOT}:${NONROOT}`,
      Env: [
        'PATH=/usr/local/bin:/usr/bin:/bin',
        'NODE_ENV=production',
        'HOME=/home/nonroot',
        ...Object.entries(OPERATOR_ENV).map(([k, v]) => `${k}=${v}`),
      ],
      Entrypoint: ['/usr/local/bin/node', ...OPERATOR_NODE_FLAGS, '/app/operator/main.js'],
      WorkingDir: '/app',
      ExposedPorts: { [`${OPERATOR_PORT}/tcp`]: {} },
      Labels: {
        'org.opencontainers.image.title': 'cdk8s-mesh operator',
        'org.opencontainers.image.description': 'Progressive delivery of CanaryRelease resources on Istio',
        'org.opencontainers.image.licenses': 'Apache-2.0',
        'org.opencontainers.image.version': version,
        'org.opencontainers.image.revision': opts.revision ?? process.env.IMAGE_REVISION ?? gitRevision(root),
        'org.opencontainers.image.source':
          opts.source ?? process.env.IMAGE_SOURCE ?? 'https://github.com/cdk8s-mesh/cdk8s-mesh',
      },
    },
  });
  return {
    image,
    digest: image.manifestDescriptor.digest,
    compressedBytes: image.layers.reduce((n, l) => n + l.blob.length, 0) + image.config.length,
    uncompressedBytes: image.layers.reduce((n, l) => n + l.uncompressedSize, 0),
    layers: built.map((b) => ({
      name: b.layer.name,
      compressed: b.layer.blob.length,
      uncompressed: b.layer.uncompressedSize,
      cached: b.cached,
    })),
  };
}

/** Writes `out/oci/` and `out/operator-image.tar`; returns their paths. */
export function writeImage(built: BuiltImage, out: string): { layout: string; tarball: string } {
  mkdirSync(out, { recursive: true });
  const layout = join(out, 'oci');
  const tarball = join(out, 'operator-image.tar');
  writeLayout(built.image, layout);
  const tmp = `${tarball}.${process.pid}`;
  writeFileSync(tmp, layoutTarball(built.image));
  renameSync(tmp, tarball);
  return { layout, tarball };
}

/**
 * The image for tests: built once per content and kept in `~/.cache/cdk8s-mesh/image/images/<digest>`,
 * so every test run (and every Jest worker) reuses it until an input changes.
 */
export function cachedOperatorImage(
  opts: BuildOptions = {},
): BuiltImage & { layout: string; tarball: string } {
  const built = buildOperatorImage({ revision: 'test', ...opts });
  const dir = join(cacheDir(), 'images', built.digest.slice('sha256:'.length));
  const layout = join(dir, 'oci');
  const tarball = join(dir, 'operator-image.tar');
  if (!existsSync(join(layout, 'index.json')) || !existsSync(tarball)) writeImage(built, dir);
  return { ...built, layout, tarball };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(ROOT, 'build', 'image') },
      reference: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run image [-- --out DIR] [--reference NAME:TAG] [--no-cache]\n' +
        '  writes DIR/oci (OCI image layout) and DIR/operator-image.tar; DIR defaults to build/image\n',
    );
    return 0;
  }
  const t0 = Date.now();
  const built = buildOperatorImage({
    ...(values.reference ? { reference: values.reference } : {}),
    noCache: values['no-cache'],
  });
  const paths = writeImage(built, resolve(values.out));
  const rows = built.layers.map(
    (l) =>
      `  ${l.name.padEnd(56)} ${mb(l.compressed).padStart(10)} ${mb(l.uncompressed).padStart(10)}${l.cached ? '  (cached)' : ''}`,
  );
  process.stdout.write(
    [
      `${built.image.reference}@${built.digest}`,
      `  ${'layer'.padEnd(56)} ${'compressed'.padStart(10)} ${'unpacked'.padStart(10)}`,
      ...rows,
      `  ${'total'.padEnd(56)} ${mb(built.compressedBytes).padStart(10)} ${mb(built.uncompressedBytes).padStart(10)}`,
      `OCI layout: ${paths.layout}`,
      `tarball:    ${paths.tarball}`,
      `built in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      '',
    ].join('\n'),
  );
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
