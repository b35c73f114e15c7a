/**
 * Whole-mesh validator and request simulator over meshes of 100 and 1000 Apps (3 versions each,
 * routes with a header match and a weighted split, a DestinationRule, zero trust from a call
 * chain), and `istioctl analyze --use-kube=false` on the same YAML when it is provisioned.
 * Prints a table; never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Testing, Yaml } from 'cdk8s';
import { App, Mesh, ZeroTrustPolicy } from '../constructs/index.js';
import { explain } from '../constructs/explain/index.js';
import { modelOf } from '../constructs/model/index.js';
import { validate } from '../constructs/validator/index.js';

process.env.CDK8S_MESH_WARNINGS = 'off';

function build(n: number): Mesh {
  const mesh = new Mesh(Testing.app(), `bench-${n}`);
  new ZeroTrustPolicy(mesh, 'zero-trust');
  const apps: App[] = [];
  for (let i = 0; i < n; i++) {
    const app = new App(mesh, `svc-${i}`, {
      image: 'registry.invalid/svc:{version}',
      versions: ['v1', 'v2', 'v3'],
    });
    app.addRoute({ match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] });
    app.addRoute({
      to: [
        { subset: 'v1', weight: 90 },
        { subset: 'v3', weight: 10 },
      ],
    });
    if (i > 0) apps[i - 1]!.calls(app, { methods: ['GET'] });
    apps.push(app);
  }
  return mesh;
}

const istioctl = join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache/cdk8s-mesh'), 'bin/istioctl');
const ms = (t: number) => `${t.toFixed(1)} ms`;
const rows: string[] = [
  '| Apps | objects | model | validate | findings | explain p50 | explain p99 | istioctl analyze | ratio |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

for (const n of [100, 1000]) {
  const mesh = build(n);
  let t = performance.now();
  const model = modelOf(mesh);
  const tModel = performance.now() - t;
  t = performance.now();
  const findings = validate(model);
  const tValidate = performance.now() - t;
  const lat: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const k = i % n;
    const s = performance.now();
    explain(model, {
      from: `svc-${Math.max(0, k - 1)}`,
      host: `svc-${k}`,
      headers: i % 2 ? { 'end-user': 'jason' } : {},
    });
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  const objects = Testing.synth(mesh);
  let ist = 'not provisioned';
  let ratio = '-';
  if (existsSync(istioctl)) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, Yaml.stringify(...objects));
    const s = performance.now();
    spawnSync(istioctl, ['analyze', '--use-kube=false', file], { stdio: 'ignore' });
    const ti = performance.now() - s;
    rmSync(dir, { recursive: true, force: true });
    ist = ms(ti);
    ratio = `${(ti / (tModel + tValidate)).toFixed(1)}×`;
  }
  rows.push(
    `| ${n} | ${objects.length} | ${ms(tModel)} | ${ms(tValidate)} | ${findings.length} | ${ms(lat[Math.floor(lat.length * 0.5)]!)} | ${ms(lat[Math.floor(lat.length * 0.99)]!)} | ${ist} | ${ratio} |`,
  );
}
console.log(rows.join('\n'));
