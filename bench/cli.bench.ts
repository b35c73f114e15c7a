/**
 * The compiled `cdk8s-mesh` as whole processes, against `istioctl analyze --use-kube=false` on
 * the same files: `--help`; `lint` and `explain` of one Bookinfo file (the examples' zero-trust
 * scenario, synthesized) and of the 1000-App mesh (./meshes.ts); `graph` of the Bookinfo file. Each command runs N times,
 * round-robin with the others so that the load of this shared machine falls on all alike; the
 * table shows the median and the fastest run, and the median against istioctl's on the same
 * file. The CLI runs on this process's Node.js and, when there is one, on the machine's older
 * /usr/bin/node. Prints a table; never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Testing, Yaml } from 'cdk8s';
import { buildScenario } from '../examples/bookinfo/bookinfo.js';
import { compiledCli } from '../test/harness/compiled-cli.js';
import { benchMesh } from './meshes.js';

process.env.CDK8S_MESH_WARNINGS = 'off';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const bin = compiledCli();
const istioctl = join(process.env.CDK8S_MESH_CACHE ?? join(homedir(), '.cache/cdk8s-mesh'), 'bin/istioctl');
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
const bookinfo = join(dir, 'bookinfo.yaml');
writeFileSync(bookinfo, Yaml.stringify(...Testing.synth(buildScenario(Testing.app(), 'zero-trust').mesh)));
const mesh1000 = join(dir, 'mesh-1000.yaml');
writeFileSync(mesh1000, Yaml.stringify(...Testing.synth(benchMesh(1000))));

const nodes: [label: string, path: string][] = [[`node ${process.versions.node}`, process.execPath]];
if (existsSync('/usr/bin/node') && process.execPath !== '/usr/bin/node') {
  const v = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout.trim().slice(1);
  nodes.push([`node ${v}`, '/usr/bin/node']);
}

interface Case {
  readonly command: string;
  readonly file: string;
  readonly runner: string;
  readonly exe: string;
  readonly args: string[];
  /** istioctl analyze on the same file, for the ratio. */
  readonly baseline?: string;
  readonly times: number[];
  codes: Set<number | null>;
}

const cases: Case[] = [];
const add = (c: Omit<Case, 'times' | 'codes'>) => cases.push({ ...c, times: [], codes: new Set() });
const files: [label: string, path: string, explainArgs: string[]][] = [
  ['Bookinfo', bookinfo, ['--from', 'productpage', '--host', 'reviews']],
  ['1000 Apps', mesh1000, ['--from', 'svc-0', '--host', 'svc-1']],
];
const haveIstioctl = existsSync(istioctl);
for (const [label, path] of nodes) {
  add({ command: 'cdk8s-mesh --help', file: '-', runner: label, exe: path, args: [bin, '--help'] });
}
for (const [name, file, explainArgs] of files) {
  const baseline = haveIstioctl ? `istioctl ${name}` : undefined;
  if (haveIstioctl)
    add({
      command: 'istioctl analyze --use-kube=false',
      file: name,
      runner: 'istioctl',
      exe: istioctl,
      args: ['analyze', '--use-kube=false', file],
    });
  for (const [label, path] of nodes) {
    add({
      command: 'cdk8s-mesh lint',
      file: name,
      runner: label,
      exe: path,
      args: [bin, 'lint', file],
      baseline,
    });
    add({
      command: 'cdk8s-mesh explain',
      file: name,
      runner: label,
      exe: path,
      args: [bin, 'explain', file, ...explainArgs],
      baseline,
    });
    // The graph of 1000 Apps is left out: its reachability (every caller against every callee) takes minutes.
    if (name === 'Bookinfo')
      add({
        command: 'cdk8s-mesh graph',
        file: name,
        runner: label,
        exe: path,
        args: [bin, 'graph', file, '--out', join(dir, 'graph.svg')],
        baseline,
      });
  }
}

// One warm-up run each (page cache, Node's compile cache), then RUNS rounds.
for (let round = -1; round < RUNS; round++) {
  for (const c of cases) {
    const t = performance.now();
    const r = spawnSync(c.exe, c.args, { stdio: ['ignore', 'ignore', 'ignore'] });
    const ms = performance.now() - t;
    if (round >= 0) {
      c.times.push(ms);
      c.codes.add(r.status);
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const istioctlMedian = (file: string) => cases.find((c) => c.runner === 'istioctl' && c.file === file)?.times;
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const rows = [
  `| command | file | runs on | median | fastest | exit | vs istioctl analyze (median) |`,
  `|---|---|---|---:|---:|---:|---:|`,
];
for (const c of cases) {
  const base = c.baseline ? istioctlMedian(c.file) : undefined;
  const ratio = base ? `${(median(c.times) / median(base)).toFixed(2)}× (${fmt(median(base))})` : '-';
  rows.push(
    `| ${c.command} | ${c.file} | ${c.runner} | ${fmt(median(c.times))} | ${fmt(Math.min(...c.times))} | ${[...c.codes].join(',')} | ${ratio} |`,
  );
}
console.log(rows.join('\n'));
console.log(
  `\n${RUNS} runs each after one warm-up, round-robin; ${bin.replace(process.cwd() + '/', '')}; ratio < 1 means faster than istioctl.${haveIstioctl ? '' : ' istioctl is not provisioned (npm run provision): no baseline.'}`,
);
