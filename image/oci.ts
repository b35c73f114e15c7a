/**
 * An OCI image from layers held in memory: gzip-compressed layer blobs, the image config, the
 * manifest, and two ways to hand it over — an OCI image layout directory (`oci-layout`,
 * `index.json`, `blobs/sha256/…`) and one tarball holding that layout plus Docker's
 * `manifest.json`, the form `docker save` writes since Docker 25, which `docker load`,
 * `podman load`, `skopeo copy oci-archive:` and `crane push` accept.
 *
 * Everything is a function of the layer contents and the config: blobs are content-addressed,
 * JSON is written with a fixed key order, gzip carries no name and no time, and the tarball's
 * own entries have fixed owners and times. The same inputs give the same digest.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rootFile, writeTar, type TarEntry } from './tar.js';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A layer: its uncompressed tar (whose digest is the config's diff_id) and its gzip blob. */
export interface Layer {
  readonly name: string;
  readonly diffId: string;
  readonly uncompressedSize: number;
  readonly blob: Buffer;
  readonly descriptor: Descriptor;
}

/**
 * gzip level 6, zlib's default (level 9 took 3× as long for 0.3% less on the Node binary). Node's
 * gzip header carries no file name and mtime 0, so the blob depends only on the tar and zlib.
 */
export const compress = (tar: Buffer): Buffer => gzipSync(tar, { level: 6 });

/** A layer from its uncompressed tar and that tar's gzip blob. */
export function layerOf(name: string, tar: Buffer, blob: Buffer): Layer {
  return {
    name,
    diffId: `sha256:${sha256(tar)}`,
    uncompressedSize: tar.length,
    blob,
    descriptor: { mediaType: MEDIA.layer, digest: `sha256:${sha256(blob)}`, size: blob.length },
  };
}

/** What the image runs, in the OCI image config's words. */
export interface RunConfig {
  readonly User: string;
  readonly Env: readonly string[];
  readonly Entrypoint: readonly string[];
  readonly Cmd?: readonly string[];
  readonly WorkingDir: string;
  readonly ExposedPorts?: Record<string, Record<string, never>>;
  readonly Labels: Record<string, string>;
}

export interface Image {
  readonly layers: readonly Layer[];
  readonly config: Buffer;
  readonly configDescriptor: Descriptor;
  readonly manifest: Buffer;
  /** The manifest's descriptor; its digest is the image digest (`…@sha256:…`). */
  readonly manifestDescriptor: Descriptor;
  /** The image's name with its tag, e.g. `ghcr.io/cdk8s-mesh/operator:0.1.0`. */
  readonly reference: string;
}

/** Stable JSON: the key order of the literal, two-space indent off, no trailing newline. */
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

export function assembleImage(opts: {
  readonly layers: readonly Layer[];
  readonly run: RunConfig;
  readonly reference: string;
  /** Fixed creation time (RFC 3339). @default '1970-01-01T00:00:00Z' */
  readonly created?: string;
}): Image {
  const created = opts.created ?? '1970-01-01T00:00:00Z';
  const config = json({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: opts.run,
    rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffId) },
    history: opts.layers.map((l) => ({ created, created_by: `cdk8s-mesh image: ${l.name}` })),
  });
  const configDescriptor: Descriptor = {
    mediaType: MEDIA.config,
    digest: `sha256:${sha256(config)}`,
    size: config.length,
  };
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDescriptor,
    layers: opts.layers.map((l) => l.descriptor),
    annotations: opts.run.Labels,
  });
  return {
    layers: opts.layers,
    config,
    configDescriptor,
    manifest,
    manifestDescriptor: {
      mediaType: MEDIA.manifest,
      digest: `sha256:${sha256(manifest)}`,
      size: manifest.length,
    },
    reference: opts.reference,
  };
}

/** `ghcr.io/cdk8s-mesh/operator:0.1.0` → its tag, `0.1.0`. */
function tagOf(reference: string): string {
  const m = /:([\w][\w.-]{0,127})$/.exec(reference.slice(reference.lastIndexOf('/') + 1));
  if (!m) throw new Error(`image reference "${reference}" has no tag (expected name:tag)`);
  return m[1]!;
}

/** The files of an OCI image layout, in a fixed order: relative path → content. */
export function layoutFiles(image: Image): [string, Buffer][] {
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        ...image.manifestDescriptor,
        annotations: {
          'io.containerd.image.name': image.reference,
          'org.opencontainers.image.ref.name': tagOf(image.reference),
        },
      },
    ],
  });
  const blob = (d: Descriptor) => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
  const blobs: [string, Buffer][] = [
    ...image.layers.map((l): [string, Buffer] => [blob(l.descriptor), l.blob]),
    [blob(image.configDescriptor), image.config],
    [blob(image.manifestDescriptor), image.manifest],
  ];
  // Docker's manifest.json: what `docker load` reads (Docker 25+ also reads index.json).
  const docker = json([
    {
      Config: blob(image.configDescriptor),
      RepoTags: [image.reference],
      Layers: image.layers.map((l) => blob(l.descriptor)),
    },
  ]);
  return [
    ['oci-layout', json({ imageLayoutVersion: '1.0.0' })],
    ['index.json', index],
    ['manifest.json', docker],
    ...blobs,
  ];
}

/** Writes the OCI layout directory at `dir` (replacing it) via a temporary sibling and a rename. */
export function writeLayout(image: Image, dir: string): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [path, data] of layoutFiles(image)) {
    mkdirSync(join(tmp, path, '..'), { recursive: true });
    writeFileSync(join(tmp, path), data);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** The layout as one tar archive (what `docker load -i`, `podman load -i`, `skopeo copy oci-archive:` take). */
export function layoutTarball(image: Image): Buffer {
  const entries: TarEntry[] = [
    { type: 'dir', path: 'blobs', mode: 0o755, uid: 0, gid: 0 },
    { type: 'dir', path: 'blobs/sha256', mode: 0o755, uid: 0, gid: 0 },
    ...layoutFiles(image).map(([path, data]) => rootFile(path, data)),
  ];
  return writeTar(entries);
}
