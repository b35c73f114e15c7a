/**
 * The operator image: how long `npm run image` takes from nothing and from its layer cache, how
 * big the image is per layer, compressed and unpacked, and whether two builds from nothing give
 * the same digest. The anchor of the time ratios is the fresh build of the same run.
 *
 * Run: `npm run bench -- image`. It builds in a temporary cache (the Debian packages are copied
 * from the real cache when present, so the network is not measured) and never fails on the numbers.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOperatorImage, type BuiltImage } from '../image/build.js';

const real = join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache', 'cdk8s-mesh'), 'image', 'debs');
const scratch = mkdtempSync(join(tmpdir(), 'bench-image-'));
process.env.CDK8S_MESH_CACHE = scratch;
if (existsSync(real)) cpSync(real, join(scratch, 'image', 'debs'), { recursive: true });

function timed(what: string, build: () => BuiltImage): { what: string; ms: number; built: BuiltImage } {
  const t0 = performance.now();
  const built = build();
  return { what, ms: performance.now() - t0, built };
}

try {
  const fresh = timed('fresh (every layer compressed)', () =>
    buildOperatorImage({ revision: 'bench', noCache: true }),
  );
  const again = timed('fresh again', () => buildOperatorImage({ revision: 'bench', noCache: true }));
  const cached = timed('from the layer cache', () => buildOperatorImage({ revision: 'bench' }));
  const changed = timed('another revision label (a new config, no new layer)', () =>
    buildOperatorImage({ revision: 'bench-2' }),
  );
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log('| build | time | × fresh | digest |');
  console.log('| --- | --- | --- | --- |');
  for (const r of [fresh, again, cached, changed])
    console.log(
      `| ${r.what} | ${(r.ms / 1000).toFixed(1)} s | ${(r.ms / fresh.ms).toFixed(2)} | ${r.built.digest.slice(0, 19)}… |`,
    );
  console.log(
    `\nsame digest from two fresh builds: ${fresh.built.digest === again.built.digest}; from the cache: ${cached.built.digest === fresh.built.digest}\n`,
  );
  console.log('| layer | compressed | unpacked |');
  console.log('| --- | --- | --- |');
  for (const l of fresh.built.layers)
    console.log(`| ${l.name} | ${mb(l.compressed)} | ${mb(l.uncompressed)} |`);
  console.log(`| total | ${mb(fresh.built.compressedBytes)} | ${mb(fresh.built.uncompressedBytes)} |`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
