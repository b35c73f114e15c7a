/**
 * Whole-mesh validator and request simulator over meshes of 100 and 1000 Apps (3 versions each,
 * routes with a header match and a weighted split, a DestinationRule, zero trust from a call
 * chain), and `istioctl analyze --use-kube=false` on the same YAML when it is provisioned.
 *
 * Columns: `constructs→model` is what synth-time validation pays to read the construct tree
 * (cdk8s toJson of every object); `objects→model` builds the model from the synthesized JSON;
 * `validate` runs every rule; `YAML parse` is what `cli lint` adds to read the file. `vs istioctl`
 * compares istioctl analyze with objects→model + validate (the same objects, already in memory),
 * `lint vs istioctl` with YAML parse + objects→model + validate (both read the same file).
 * explain is timed after 200 warm-up requests. Prints a table; never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Testing, Yaml } from 'cdk8s';
import { explain, type ExplainRequest } from '../mesh/explain/index.js';
import { buildModel, parseYamlObjects, type KubeObject } from '../mesh/model/index.js';
import { validate } from '../mesh/validator/index.js';
import { benchMesh } from './meshes.js';

process.env.CDK8S_MESH_WARNINGS = 'off';

const istioctl = join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache/cdk8s-mesh'), 'bin/istioctl');
const ms = (t: number) => `${t.toFixed(1)} ms`;
const rows: string[] = [
  '| Apps | objects | constructs→model | objects→model | validate | findings | YAML parse | explain p50 | explain p99 | istioctl analyze | vs istioctl | lint vs istioctl |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

for (const n of [100, 1000]) {
  const mesh = benchMesh(n);
  let t = performance.now();
  mesh.model();
  const tConstructs = performance.now() - t;
  const objects = Testing.synth(mesh);
  const yaml = Yaml.stringify(...objects);
  t = performance.now();
  const model = buildModel(objects.map((object) => ({ object: object as KubeObject })));
  const tModel = performance.now() - t;
  t = performance.now();
  const findings = validate(model);
  const tValidate = performance.now() - t;
  t = performance.now();
  parseYamlObjects(yaml, 'mesh.yaml');
  const tParse = performance.now() - t;
  const request = (i: number): ExplainRequest => {
    const k = i % n;
    return {
      from: `svc-${Math.max(0, k - 1)}`,
      host: `svc-${k}`,
      headers: i % 2 ? { 'end-user': 'jason' } : ({} as Record<string, string>),
    };
  };
  for (let i = 0; i < 200; i++) explain(model, request(i * 7));
  const lat: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const r = request(i);
    const s = performance.now();
    explain(model, r);
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  let ist = 'not provisioned';
  let ratio = '-';
  let lintRatio = '-';
  if (existsSync(istioctl)) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, yaml);
    const s = performance.now();
    spawnSync(istioctl, ['analyze', '--use-kube=false', file], { stdio: 'ignore' });
    const ti = performance.now() - s;
    rmSync(dir, { recursive: true, force: true });
    ist = ms(ti);
    ratio = `${(ti / (tModel + tValidate)).toFixed(1)}×`;
    lintRatio = `${(ti / (tParse + tModel + tValidate)).toFixed(1)}×`;
  }
  const us = (x: number) => `${(x * 1000).toFixed(0)} µs`;
  rows.push(
    `| ${n} | ${objects.length} | ${ms(tConstructs)} | ${ms(tModel)} | ${ms(tValidate)} | ${findings.length} | ${ms(tParse)} | ${us(lat[Math.floor(lat.length * 0.5)]!)} | ${us(lat[Math.floor(lat.length * 0.99)]!)} | ${ist} | ${ratio} | ${lintRatio} |`,
  );
}
console.log(rows.join('\n'));
