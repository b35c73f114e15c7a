/**
 * The compiled `cdk8s-mesh` as whole processes, against `istioctl analyze --use-kube=false` on
 * the same files: `--help`; `lint` and `explain` of one Bookinfo file (the examples' zero-trust
 * scenario, synthesized) and of the 1000-App mesh (./meshes.ts); `reachability` and `graph` (SVG)
 * of the Bookinfo file. Each command runs N times,
 * round-robin with the others so that the load of this shared machine falls on all alike; the
 * table shows the median and the fastest run, and the median against istioctl's on the same
 * file. The CLI runs on this process's Node.js and, when there is one, on the machine's older
 * /usr/bin/node. Prints a table; never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Testing, Yaml } from 'cdk8s';
import { buildScenario } from '../examples/bookinfo/bookinfo.js';
import { compiledCli } from '../test/harness/compiled-cli.js';
import { benchMesh } from './meshes.js';

process.env.CDK8S_MESH_WARNINGS = 'off';
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

// BENCH_CLI: another compiled bin.js to measure (an earlier build, for a before/after).
const bin = process.env.BENCH_CLI ?? compiledCli();
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
  /** CPU time (user + system) of each run, ms. */
  readonly cpu: number[];
  codes: Set<number | null>;
}

const cases: Case[] = [];
const add = (c: Omit<Case, 'times' | 'cpu' | 'codes'>) =>
  cases.push({ ...c, times: [], cpu: [], codes: new Set() });
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
    // reachability and graph (an SVG, its one output format) of 1000 Apps are left out: the
    // reachability of every caller against every callee takes minutes.
    if (name === 'Bookinfo') {
      add({
        command: 'cdk8s-mesh reachability',
        file: name,
        runner: label,
        exe: path,
        args: [bin, 'reachability', file],
        baseline,
      });
      add({
        command: 'cdk8s-mesh graph (SVG)',
        file: name,
        runner: label,
        exe: path,
        args: [bin, 'graph', file, '--out', join(dir, 'graph.svg')],
        baseline,
      });
    }
  }
}

/**
 * Runs one case under sh, whose `times` then prints the CPU time (user + system, every thread)
 * its child used: on a loaded machine that varies far less than the wall time.
 */
function runOnce(c: Case): { ms: number; cpuMs: number; code: number | null } {
  const t = performance.now();
  const r = spawnSync(
    '/bin/sh',
    ['-c', '"$@" >/dev/null 2>&1; s=$?; times; exit $s', 'sh', c.exe, ...c.args],
    {
      encoding: 'utf8',
    },
  );
  const ms = performance.now() - t;
  // `times`: the shell's user and system time, then its children's (`0m0.150000s 0m0.030000s`).
  const children = r.stdout.trim().split('\n')[1] ?? '';
  const cpuMs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
  return { ms, cpuMs, code: r.status };
}

const loadBefore = loadavg();
// One warm-up run each (page cache, Node's compile cache), then RUNS rounds.
for (let round = -1; round < RUNS; round++) {
  for (const c of cases) {
    const r = runOnce(c);
    if (round >= 0) {
      c.times.push(r.ms);
      c.cpu.push(r.cpuMs);
      c.codes.add(r.code);
    }
  }
}
const loadAfter = loadavg();
rmSync(dir, { recursive: true, force: true });

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const istioctlCase = (file: string) => cases.find((c) => c.runner === 'istioctl' && c.file === file);
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const rows = [
  `| command | file | runs on | median | fastest | CPU (median) | exit | vs istioctl analyze (median) | CPU vs istioctl |`,
  `|---|---|---|---:|---:|---:|---:|---:|---:|`,
];
for (const c of cases) {
  const base = c.baseline ? istioctlCase(c.file) : undefined;
  const ratio = base
    ? `${(median(c.times) / median(base.times)).toFixed(2)}× (${fmt(median(base.times))})`
    : '-';
  const cpuRatio = base
    ? `${(median(c.cpu) / median(base.cpu)).toFixed(2)}× (${fmt(median(base.cpu))})`
    : '-';
  rows.push(
    `| ${c.command} | ${c.file} | ${c.runner} | ${fmt(median(c.times))} | ${fmt(Math.min(...c.times))} | ${fmt(median(c.cpu))} | ${[...c.codes].join(',')} | ${ratio} | ${cpuRatio} |`,
  );
}
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
console.log(rows.join('\n'));
console.log(
  `\n${RUNS} runs each after one warm-up, round-robin; ${bin.replace(process.cwd() + '/', '')}; ratio < 1 means faster than istioctl; CPU is user + system time of all the process's threads. Load average (1, 5, 15 min) ${load(loadBefore)} before, ${load(loadAfter)} after.${haveIstioctl ? '' : ' istioctl is not provisioned (npm run provision): no baseline.'}`,
);
