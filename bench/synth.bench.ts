/**
 * Synth cost of the constructs against raw cdk8s, and `cdk8s synth` of the Bookinfo example
 * from a cold start.
 *
 * Meshes of N Apps, each with a Deployment, Service, ServiceAccount, DestinationRule,
 * VirtualService and an AuthorizationPolicy (from the call graph: app i calls app i+1), are
 * synthesized to YAML through the constructs and, in the same run, the same objects as raw
 * cdk8s `ApiObject`s. Target: constructs ≤ 1.3× raw, growing linearly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawTemplate, viaConstructs, viaRawCdk8s } from './authoring.js';

const SIZES = [100, 1000, 3000];
const RUNS = 3;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => string): { ms: number; bytes: number } {
  const runs: number[] = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    gc();
    const t = process.hrtime.bigint();
    bytes = fn().length;
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: median(runs), bytes };
}

const { json: template, count: perApp } = rawTemplate();
// Warm-up so neither side pays the JIT alone.
viaConstructs(50);
viaRawCdk8s(50, template);

console.log(
  `objects per App: ${perApp} (Deployment, Service, ServiceAccount, DestinationRule, VirtualService, AuthorizationPolicy)`,
);
console.log(`median of ${RUNS} runs each, synth to YAML in memory\n`);
console.log('| Apps | objects | constructs (ms) | raw cdk8s (ms) | ratio | constructs ms/App |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of SIZES) {
  const c = time(() => viaConstructs(n));
  const r = time(() => viaRawCdk8s(n, template));
  console.log(
    `| ${n} | ${n * perApp} | ${c.ms.toFixed(0)} | ${r.ms.toFixed(0)} | ${(c.ms / r.ms).toFixed(2)}× | ${(c.ms / n).toFixed(2)} |`,
  );
}

// `cdk8s synth` of the Bookinfo example (every scenario) from a cold process, as a user runs it.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cdk8s = join(root, 'node_modules/.bin/cdk8s');
const walls: number[] = [];
const out = mkdtempSync(join(tmpdir(), 'synth-bench-'));
for (let r = 0; r < RUNS; r++) {
  const t = Date.now();
  const res = spawnSync(cdk8s, ['synth', '--check-upgrade=false', '--output', out], {
    cwd: root,
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`cdk8s synth failed: ${res.stderr}`);
  walls.push(Date.now() - t);
}
const tsx = join(root, 'node_modules/.bin/tsx');
const direct: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t = Date.now();
  spawnSync(tsx, ['examples/main.ts'], { cwd: root, env: { ...process.env, CDK8S_OUTDIR: out } });
  direct.push(Date.now() - t);
}
rmSync(out, { recursive: true, force: true });
console.log('\n| cold start | median wall (ms) | target |');
console.log('| --- | ---: | ---: |');
console.log(`| \`cdk8s synth\` of examples/ (all Bookinfo scenarios) | ${median(walls)} | < 2000 |`);
console.log(`| the app alone (\`tsx examples/main.ts\`) | ${median(direct)} | |`);
