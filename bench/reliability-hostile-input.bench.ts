/**
 * Hostile input at scale (the `reliability` figures for lint, explain, reachability and graph):
 * fast-check meshes whose objects parse but break their schema (wrong types, nulls, 200 kB strings,
 * nesting 5,000 deep, prototype keys, regexes that backtrack), each through the validator, explain,
 * reachability and graph. Prints cases, exceptions (must be 0), findings, time per case against
 * the clean mesh as anchor, and peak memory. `npm run bench -- reliability`.
 */
import fc from 'fast-check';
import { explain } from '../mesh/explain/index.js';
import { buildModel } from '../mesh/model/index.js';
import { hostileMesh, HOSTILE_RUNS, survive } from '../test/unit/model/hostile-input.js';
import { baseMesh, vs } from '../test/unit/validator/fixtures.js';

const runs = Number(process.env.HOSTILE_RUNS ?? HOSTILE_RUNS.bench);
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

// Anchor: the clean mesh through the same commands.
const anchor: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await survive(baseMesh());
  anchor.push(performance.now() - t);
}

const times: number[] = [];
let exceptions = 0;
let findings = 0;
let invalid = 0;
let peakRss = process.memoryUsage().rss;
const samples = fc.sample(hostileMesh(), { numRuns: runs, seed: 16 });
for (const objects of samples) {
  const t = performance.now();
  try {
    const r = await survive(objects);
    findings += r.findings;
    invalid += r.invalid;
  } catch (e) {
    exceptions++;
    if (exceptions <= 3) console.error(`exception: ${(e as Error).message.slice(0, 300)}`);
  }
  times.push(performance.now() - t);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}

// The regex that never returned in JavaScript's engine: RE2 on a 100,000-character header.
const regexModel = buildModel(
  [
    ...baseMesh(),
    vs('reviews', {
      hosts: ['reviews'],
      http: [
        {
          match: [{ headers: { 'x-user': { regex: '(a+)+$' } } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
        },
        { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      ],
    }),
  ].map((object) => ({ object })),
);
const regexTimes: number[] = [];
for (const n of [40, 1_000, 100_000]) {
  const t = performance.now();
  explain(regexModel, { from: 'productpage', host: 'reviews', headers: { 'x-user': `${'a'.repeat(n)}!` } });
  regexTimes.push(performance.now() - t);
}

const a50 = quantile(anchor, 0.5);
const rows: [string, string][] = [
  ['generated meshes (1-4 broken fields each)', String(samples.length)],
  ['exceptions (must be 0)', String(exceptions)],
  ['objects refused as MESH001', String(invalid)],
  ['findings in all', String(findings)],
  ['clean mesh, median ms (anchor)', a50.toFixed(2)],
  [
    'hostile mesh, median ms (× anchor)',
    `${quantile(times, 0.5).toFixed(2)} (${(quantile(times, 0.5) / a50).toFixed(1)}×)`,
  ],
  [
    'hostile mesh, p99 ms (× anchor)',
    `${quantile(times, 0.99).toFixed(2)} (${(quantile(times, 0.99) / a50).toFixed(1)}×)`,
  ],
  [
    'hostile mesh, max ms (× anchor)',
    `${Math.max(...times).toFixed(2)} (${(Math.max(...times) / a50).toFixed(1)}×)`,
  ],
  ['peak RSS MiB', (peakRss / 1024 / 1024).toFixed(0)],
  [
    'explain with (a+)+$ on 40 / 1,000 / 100,000 a’s + !, ms',
    regexTimes.map((x) => x.toFixed(1)).join(' / '),
  ],
];
const w = Math.max(...rows.map(([k]) => k.length));
console.log(`| ${'measure'.padEnd(w)} | value |`);
console.log(`| ${'-'.repeat(w)} | ----- |`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
process.exitCode = exceptions ? 1 : 0;
