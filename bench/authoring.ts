/**
 * The authoring side's measurements, shared by `synth.bench.ts` and `delivery.bench.ts`: synth of
 * N Apps through the constructs against the same objects as raw cdk8s `ApiObject`s, and
 * validation of a mesh in-process, as a whole `cdk8s-mesh lint` process and by `istioctl analyze
 * --use-kube=false` on the same YAML.
 */
import { ApiObject, App as CdkApp, Chart, Testing, Yaml } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App, Mesh, ZeroTrustPolicy } from '../constructs/index.js';
import { buildModel, type KubeObject } from '../mesh/model/index.js';
import { validate } from '../mesh/validator/index.js';
import { compiledCli } from '../test/harness/compiled-cli.js';
import { benchMesh } from './meshes.js';

/** Synth of n Apps through the constructs, to YAML in memory. */
export function viaConstructs(n: number): string {
  const app = new CdkApp();
  const mesh = new Mesh(app, 'mesh', { manageNamespace: false });
  new ZeroTrustPolicy(mesh, 'zero-trust', { allowNothing: false });
  let prev: App | undefined;
  for (let i = 0; i < n; i++) {
    const a = new App(mesh, `svc${i}`, { image: `registry.example/svc${i}:{version}`, port: 8080 });
    a.addRoute({ to: [{ subset: 'v1' }] });
    prev?.calls(a, { methods: ['GET'] });
    prev = a;
  }
  return app.synthYaml();
}

/** The objects one App yields, taken from the constructs once, as the literal a raw program would write. */
export function rawTemplate(): { json: string; count: number } {
  const app = new CdkApp();
  const mesh = new Mesh(app, 'mesh', { manageNamespace: false });
  new ZeroTrustPolicy(mesh, 'zero-trust', { allowNothing: false });
  const a = new App(mesh, 'caller', { image: 'registry.example/caller:{version}', port: 8080 });
  const b = new App(mesh, 'svc0', { image: 'registry.example/svc0:{version}', port: 8080 });
  b.addRoute({ to: [{ subset: 'v1' }] });
  a.calls(b, { methods: ['GET'] });
  const objs = (mesh.toJson() as { metadata: { name: string; labels?: Record<string, string> } }[]).filter(
    (o) => JSON.stringify(o).includes('svc0'),
  );
  return { json: JSON.stringify(objs), count: objs.length };
}

/** The same objects as raw cdk8s `ApiObject`s, from {@link rawTemplate}. */
export function viaRawCdk8s(n: number, template: string): string {
  const app = new CdkApp();
  const chart = new Chart(app, 'mesh', { disableResourceNameHashes: true });
  new ApiObject(chart, 'pa', {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'default', namespace: 'default' },
    spec: { mtls: { mode: 'STRICT' } },
  });
  for (let i = 0; i < n; i++) {
    const objs = JSON.parse(template.replaceAll('svc0', `svc${i}`)) as ConstructorParameters<
      typeof ApiObject
    >[2][];
    objs.forEach((o, j) => new ApiObject(chart, `svc${i}-${j}`, o));
  }
  return app.synthYaml();
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function timed(runs: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    gc();
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

export interface SynthComparison {
  readonly apps: number;
  /** Median ms over the runs. */
  readonly constructsMs: number;
  readonly rawMs: number;
}

/** Synth of each size through the constructs and as raw cdk8s, `runs` times each, after a warm-up. */
export function compareSynth(sizes: readonly number[], runs: number): SynthComparison[] {
  const { json } = rawTemplate();
  viaConstructs(50);
  viaRawCdk8s(50, json);
  return sizes.map((apps) => ({
    apps,
    constructsMs: median(timed(runs, () => viaConstructs(apps))),
    rawMs: median(timed(runs, () => viaRawCdk8s(apps, json))),
  }));
}

export interface ValidationComparison {
  readonly apps: number;
  readonly objects: number;
  /** The synthesized objects → model → every rule, in-process (median ms). */
  readonly inProcessMs: number;
  /** `cdk8s-mesh lint <file>` as a whole process (median ms). */
  readonly lintProcessMs: number;
  /** `istioctl analyze --use-kube=false <file>` (median ms); undefined when istioctl is not provisioned. */
  readonly istioctlMs: number | undefined;
}

/** Validation of the n-App mesh of ./meshes.ts, `runs` times each way, round-robin. */
export function compareValidation(apps: number, runs: number): ValidationComparison {
  process.env.CDK8S_MESH_WARNINGS = 'off';
  const objects = Testing.synth(benchMesh(apps));
  const dir = mkdtempSync(join(tmpdir(), 'bench-authoring-'));
  try {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, Yaml.stringify(...objects));
    const cli = compiledCli();
    const istioctl = join(
      process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache/cdk8s-mesh'),
      'bin/istioctl',
    );
    const haveIstioctl = existsSync(istioctl);
    const inProcess: number[] = [];
    const lint: number[] = [];
    const analyze: number[] = [];
    const model = () => validate(buildModel(objects.map((object) => ({ object: object as KubeObject }))));
    model(); // warm-up
    for (let r = 0; r < runs; r++) {
      inProcess.push(...timed(1, model));
      lint.push(...timed(1, () => spawnSync(process.execPath, [cli, 'lint', file], { stdio: 'ignore' })));
      if (haveIstioctl) {
        analyze.push(
          ...timed(1, () => spawnSync(istioctl, ['analyze', '--use-kube=false', file], { stdio: 'ignore' })),
        );
      }
    }
    return {
      apps,
      objects: objects.length,
      inProcessMs: median(inProcess),
      lintProcessMs: median(lint),
      istioctlMs: haveIstioctl ? median(analyze) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
