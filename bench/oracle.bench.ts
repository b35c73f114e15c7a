/**
 * explain against Istio 1.30's own config generation (the oracle of test/harness/oracle.ts) over
 * generated meshes: the agreement per field, the disagreements' first seeds, and what a mesh costs
 * the oracle (one long-running process, one JSON line per mesh) next to what it costs explain.
 *
 * `npm run bench -- oracle` (2,000 meshes from seed 1); CDK8S_MESH_ORACLE_MESHES and
 * CDK8S_MESH_ORACLE_SEED change them. Needs `npm run provision` (the `oracle` part). Prints a
 * table; exits 1 when any field disagrees.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { explain } from '../mesh/explain/index.js';
import { buildModel } from '../mesh/model/index.js';
import { generateMesh } from '../test/harness/oracle-meshes.js';
import { compareWithOracle, FIELDS, Oracle, oracleCase, type Field } from '../test/harness/oracle.js';

process.env.CDK8S_MESH_WARNINGS = 'off';

const meshes = Number(process.env.CDK8S_MESH_ORACLE_MESHES ?? 2000);
const first = Number(process.env.CDK8S_MESH_ORACLE_SEED ?? 1);
const binary = join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache/cdk8s-mesh'), 'bin/oracle');
if (!existsSync(binary)) {
  console.error(`the oracle is not provisioned (${binary} is missing): run npm run provision -- oracle`);
  process.exit(2);
}

const tStart = performance.now();
const oracle = await Oracle.start(binary);
const tReady = performance.now() - tStart;
const agreed = new Map<Field, number>();
const compared = new Map<Field, number>();
const firstSeeds = new Map<Field, number[]>();
let calls = 0;
let oracleMs = 0;
let explainMs = 0;
let failedMeshes = 0;
for (let seed = first; seed < first + meshes; seed++) {
  const mesh = generateMesh(seed);
  const model = buildModel(mesh.objects.map((object) => ({ object })));
  let t = performance.now();
  for (const r of mesh.requests) explain(model, r);
  explainMs += performance.now() - t;
  const { request, calls: cases } = oracleCase(model, mesh.requests);
  t = performance.now();
  let results;
  try {
    results = await oracle.ask(request);
  } catch (e) {
    failedMeshes++;
    console.error(`seed ${seed}: ${String(e).slice(0, 300)}`);
    continue;
  }
  oracleMs += performance.now() - t;
  for (const c of cases) {
    calls++;
    const cmp = compareWithOracle(model, c, results);
    for (const f of cmp.compared) {
      compared.set(f, (compared.get(f) ?? 0) + 1);
      if (cmp.disagreements.some((d) => d.field === f)) {
        const seeds = firstSeeds.get(f) ?? [];
        if (seeds.length < 5 && !seeds.includes(seed)) seeds.push(seed);
        firstSeeds.set(f, seeds);
      } else agreed.set(f, (agreed.get(f) ?? 0) + 1);
    }
  }
}
await oracle.stop();

console.log(`${meshes} generated meshes (seeds ${first}–${first + meshes - 1}), ${calls} requests\n`);
console.log('| field | compared | agree | agreement | first disagreeing seeds |');
console.log('|---|---:|---:|---:|---|');
let disagreements = 0;
for (const f of FIELDS) {
  const n = compared.get(f) ?? 0;
  const a = agreed.get(f) ?? 0;
  disagreements += n - a;
  console.log(
    `| ${f} | ${n} | ${a} | ${n ? ((100 * a) / n).toFixed(2) : '-'}% | ${(firstSeeds.get(f) ?? []).join(', ') || '-'} |`,
  );
}
console.log(
  `\noracle start ${tReady.toFixed(0)} ms; per mesh: oracle ${(oracleMs / meshes).toFixed(1)} ms, explain ${(explainMs / meshes).toFixed(2)} ms (ratio ${(oracleMs / Math.max(explainMs, 1e-3)).toFixed(0)}×); meshes Istio refused: ${failedMeshes}`,
);
process.exit(disagreements || failedMeshes ? 1 : 0);
