/**
 * `npm run demo` — progressive delivery end to end on this machine, no cluster needed:
 *
 *  1. provisions the real parts (cached) and starts them on loopback: etcd, kube-apiserver,
 *     controller-manager, scheduler, kwok with fake nodes, the CRDs, Prometheus;
 *  2. applies Bookinfo (synthesized by the constructs) and starts the traffic simulator — a test
 *     stand-in for Envoy — with bounded load through productpage → reviews → ratings;
 *  3. starts the operator in this process and applies a CanaryRelease of reviews v3; shows its
 *     progress live (step, weights, success rate, p99, a progress bar) and approves the promotion
 *     with `cli promote`, as a person would;
 *  4. releases reviews v2, injects a failure into it mid-release (30 % HTTP 503) and shows the
 *     operator rolling it back;
 *  5. writes a rollout timeline chart (weights and SLOs over time, SVG) and says where;
 *  6. stops everything — also on Ctrl-C — and removes the control plane's temp dir.
 *
 * It lives under test/ because it runs the test harness (control plane, traffic simulator), and
 * the architecture rule keeps test/ out of everything that ships.
 *
 * Flags: --fast (or DEMO_FAST=1) short intervals; --out DIR (default dist/demo). When stdout is
 * not a terminal it prints one progress line per change instead of redrawing.
 */
import * as k8s from '@kubernetes/client-node';
import { Testing } from 'cdk8s';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { durationMs } from '../../api/duration.js';
import { run as cli } from '../../cli/main.js';
import { formatMs, formatPercent, progressBar, progressLine, weightsOf } from '../../cli/release/format.js';
import { isFinished, viewOf, type ReleaseView } from '../../cli/release/view.js';
import { CanaryRelease } from '../../constructs/index.js';
import { bookinfo } from '../../examples/bookinfo/bookinfo.js';
import { CANARY_RELEASES, KubeClient, type CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger } from '../../operator/runtime/log.js';
import type { ControlPlaneEndpoints } from '../harness/control-plane.js';
import { provision } from '../harness/provision.js';
import { TrafficSimulator, type LoadHandle } from '../harness/traffic/index.js';
import { timelineSvg, type Mark, type Sample } from './timeline.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const NAMESPACE = 'bookinfo';
const RELEASE = 'reviews';

const { values: flags } = parseArgs({
  options: { fast: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (flags.help) {
  process.stdout.write(
    'usage: npm run demo [-- --fast] [-- --out DIR]\n  DEMO_FAST=1 is the same as --fast\n',
  );
  process.exit(0);
}
const fast = flags.fast === true || process.env.DEMO_FAST === '1';
const outDir = resolve(flags.out ?? process.env.DEMO_OUT ?? join(repo, 'dist/demo'));
const interval = fast ? '3s' : '5s';
const tty = process.stdout.isTTY === true;
const t0 = Date.now();

// ---------------------------------------------------------------------------------------------
// Output: milestone lines scroll; the live block is redrawn in place on a terminal
// ---------------------------------------------------------------------------------------------

const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const colour = (code: number, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
let liveLines = 0;
const clearLive = () => {
  if (tty && liveLines) process.stdout.write(`\x1b[${liveLines}F\x1b[J`);
  liveLines = 0;
};
const say = (s: string) => {
  clearLive();
  process.stdout.write(`${s}\n`);
};
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const milestone = (s: string) => say(`${colour(36, '▶')} ${stamp()}  ${s}`);

function live(v: ReleaseView): void {
  const cols = Math.max(60, process.stdout.columns ?? 120) - 1;
  const lines = [
    `  ${bold(`${v.name}`)}  ${v.phase.padEnd(11)} step ${v.currentStep}/${v.totalSteps}  ${v.step}`,
    `  ${progressBar(v, 40)}  ${weightsOf(v)}`,
    `  success ${formatPercent(v.successRate).padEnd(8)} (SLO ≥ ${v.successRateMin ?? '-'}%)   p99 ${formatMs(v.latencyP99Ms).padEnd(7)} (SLO ≤ ${v.latencyP99Max ?? '-'})`,
    `  ${(v.message ?? '').slice(0, cols - 2)}`,
  ];
  clearLive();
  process.stdout.write(lines.map((l) => l.slice(0, cols + 20)).join('\n') + '\n');
  liveLines = lines.length;
}

// ---------------------------------------------------------------------------------------------
// Everything started is registered here and stopped in reverse order, exactly once
// ---------------------------------------------------------------------------------------------

const stops: { name: string; stop: () => Promise<void> | void }[] = [];
let stopping: Promise<void> | undefined;
/** Registers what `stopAll` stops; something started while stopping is stopped at once. */
function register(name: string, stop: () => Promise<void> | void): void {
  if (stopping) void stopping.then(stop).catch(() => undefined);
  else stops.push({ name, stop });
}
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const s of [...stops].reverse()) {
      try {
        await s.stop();
      } catch (e) {
        process.stderr.write(`[demo] stopping ${s.name}: ${(e as Error).message}\n`);
      }
    }
  })();
  return stopping;
}
let interrupted = false;
let supervisor: ChildProcess | undefined;
process.on('SIGINT', () => {
  if (interrupted) {
    // a second Ctrl-C: take the control plane's process group down now
    if (supervisor?.pid) process.kill(-supervisor.pid, 'SIGKILL');
    process.exit(130);
  }
  interrupted = true;
  say('\n[demo] interrupted: stopping everything (Ctrl-C again to kill at once)');
  void stopAll().then(() => process.exit(130));
});
process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

class Interrupted extends Error {}
const sleep = (ms: number) =>
  new Promise<void>((r, reject) => setTimeout(() => (interrupted ? reject(new Interrupted()) : r()), ms));

/** Starts the control plane in the harness's supervisor process: it stops every part when we exit, however we exit. */
async function startControlPlane(bin: string): Promise<ControlPlaneEndpoints> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/harness/supervisor.ts'), bin], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // Ctrl-C reaches us, and we stop things in order
    cwd: repo,
  });
  supervisor = child;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  register('the control plane', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  });
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    log.push(l);
    if (/ready|installed|up in/.test(l)) say(`  ${l}`);
  });
  return new Promise((resolveReady, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) resolveReady(JSON.parse(line.slice(6)) as ControlPlaneEndpoints);
      else if (line.startsWith('FAILED '))
        reject(new Error(`the control plane did not start:\n${JSON.parse(line.slice(7))}`));
    });
    child.once('exit', (code) =>
      reject(
        new Error(
          `the control plane exited (code ${code}) before it was ready:\n${log.slice(-20).join('\n')}`,
        ),
      ),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  say(
    bold(
      `cdk8s-mesh demo${fast ? ' (fast)' : ''}: a canary release of Bookinfo's reviews, on real Kubernetes parts started here`,
    ),
  );
  say('[demo] provisioning the real parts (cached after the first run)…');
  const bin = provision();
  say(
    '[demo] starting etcd, kube-apiserver, controller-manager, scheduler, kwok and Prometheus on 127.0.0.1',
  );
  const cp = await startControlPlane(bin);
  say(`[demo] control plane in ${cp.workDir}`);
  if (interrupted) throw new Interrupted();

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const client = new KubeClient(kc);

  // Bookinfo and the release, synthesized by the constructs.
  const app = Testing.app();
  const b = bookinfo(app, 'bookinfo', { namespace: NAMESPACE });
  const release = new CanaryRelease(b.mesh, 'reviews-v3', {
    app: b.reviews,
    stable: 'v1',
    canary: 'v3',
    revision: '1.20.3',
    // The demo applies Bookinfo first and the release later: its VirtualService routes to v1
    // before the release exists, so it is applied with Bookinfo rather than owned by the release.
    ownRoute: false,
    steps: [
      { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
      { setWeight: 10 },
      { setWeight: 25 },
      { setWeight: 50 },
    ],
    promotion: { manualApproval: true },
    analysis: {
      interval,
      threshold: 2,
      successRate: { min: 99 },
      latencyP99: { max: '300ms' },
      missingData: { policy: 'FailAfterDeadline', deadline: '1m' },
    },
  });
  const synthesized = Testing.synth(b.mesh) as k8s.KubernetesObject[];
  const crd = synthesized.find((o) => o.kind === 'CanaryRelease')!;
  const platform = synthesized.filter((o) => o !== crd);
  say(`[demo] applying Bookinfo to namespace ${NAMESPACE} (${platform.length} objects, server-side apply)`);
  const apply = (o: k8s.KubernetesObject) =>
    objects.patch(o, undefined, undefined, 'cdk8s-mesh-demo', true, k8s.PatchStrategy.ServerSideApply);
  for (const o of platform.filter((x) => x.kind === 'Namespace')) await apply(o);
  for (const o of platform.filter((x) => x.kind !== 'Namespace')) await apply(o);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  for (let i = 0; ; i++) {
    const list = await apps.listNamespacedDeployment({ namespace: NAMESPACE });
    const ready = list.items.filter((d) => (d.status?.availableReplicas ?? 0) >= 1).length;
    if (ready === list.items.length && ready > 0) {
      say(`[demo] ${ready} Deployments available on the fake nodes (kwok)`);
      break;
    }
    if (i > 240) throw new Error(`only ${ready}/${list.items.length} Deployments became available in 60 s`);
    await sleep(250);
  }

  // The traffic simulator: a test stand-in for Envoy, routing by the live VirtualServices.
  const sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: NAMESPACE,
    seed: 2026,
    refreshMs: 250,
    services: [
      {
        name: 'productpage',
        versions: [{ version: 'v1', latencyMs: 2, calls: [{ host: 'details' }, { host: 'reviews' }] }],
      },
      { name: 'details', versions: [{ version: 'v1', latencyMs: 2 }] },
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 6, latencyJitterMs: 4 },
          { version: 'v2', latencyMs: 9, latencyJitterMs: 6, calls: [{ host: 'ratings', timeoutMs: 2500 }] },
          { version: 'v3', latencyMs: 8, latencyJitterMs: 6, calls: [{ host: 'ratings', timeoutMs: 2500 }] },
        ],
      },
      { name: 'ratings', versions: [{ version: 'v1', latencyMs: 2 }] },
    ],
  });
  register('the traffic simulator', () => sim.stop());
  const target = join(cp.prometheusTargetsDir, 'demo.json');
  writeFileSync(target, JSON.stringify([{ targets: [sim.metricsAddress], labels: { demo: 'bookinfo' } }]));
  const load: LoadHandle = sim.startLoad({
    host: 'productpage',
    path: '/productpage',
    rps: 40,
    durationMs: 9 * 60_000,
    concurrency: 32,
    headersFor: (i): Record<string, string> => (i % 10 === 0 ? { 'end-user': 'jason' } : {}),
  });
  register('the load', async () => void (await load.stop()));
  say(
    '[demo] traffic simulator (a stand-in for Envoy) sending 40 req/s to productpage → details, reviews → ratings; Prometheus scrapes its Istio metrics every 1 s',
  );

  // The operator, in this process; its log goes to a file.
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'operator.log');
  const logStream = createWriteStream(logFile);
  const op: OperatorHandle = await startOperator({
    kubeConfig: kc,
    prometheusUrl: cp.prometheusUrl,
    prometheusTimeoutMs: 3000,
    namespace: NAMESPACE,
    leaderElection: false,
    identity: 'demo-operator',
    logger: createLogger({ level: 'info', sink: (e) => logStream.write(`${JSON.stringify(e)}\n`) }),
  });
  register('the operator', async () => {
    await op.stop();
    await new Promise<void>((r) => logStream.end(() => r()));
  });
  say(`[demo] operator started in this process (log: ${logFile})`);

  // ---- release 1: reviews v1 → v3, healthy, approved with `cli promote` ----------------------
  const samples: Sample[] = [];
  const marks: Mark[] = [];
  let releaseNo = 0;
  let releaseT0 = 0;
  const seconds = () => (Date.now() - releaseT0) / 1000;
  const read = async () => {
    const res = await client.get<CanaryReleaseObject>(CANARY_RELEASES, {
      namespace: NAMESPACE,
      name: RELEASE,
    });
    if (!res.ok) throw new Error(`reading CanaryRelease ${NAMESPACE}/${RELEASE}: ${res.error.message}`);
    return viewOf(res.value);
  };

  /** Polls and shows the release until `until` says stop; returns the last view. */
  async function follow(
    until: (v: ReleaseView) => boolean,
    onChange?: (v: ReleaseView, prev?: ReleaseView) => Promise<void> | void,
    limitMs = fast ? 150_000 : 400_000,
  ) {
    let prev: ReleaseView | undefined;
    let lastLine = '';
    const deadline = Date.now() + limitMs;
    for (;;) {
      const v = await read();
      if (v.observedGeneration === v.generation) {
        samples.push({
          t: seconds(),
          release: releaseNo,
          canaryWeight: v.canary.weight,
          ...(v.successRate !== undefined && v.phase !== 'Pending' ? { successRate: v.successRate } : {}),
          ...(v.latencyP99Ms !== undefined ? { latencyP99Ms: v.latencyP99Ms } : {}),
        });
        if (prev?.currentStep !== v.currentStep || prev?.phase !== v.phase) {
          if (prev && !isFinished(v))
            milestone(`step ${v.currentStep}/${v.totalSteps}: ${v.step} (${weightsOf(v)})`);
        }
        await onChange?.(v, prev);
        if (tty) live(v);
        else {
          const line = progressLine(v).slice(10);
          if (line !== lastLine) say(`[progress] ${line}`);
          lastLine = line;
        }
        prev = v;
        if (until(v)) return v;
      }
      if (Date.now() > deadline)
        throw new Error(
          `the release did not get there in ${limitMs / 1000} s: ${prev ? progressLine(prev) : 'no status'}; see ${logFile}`,
        );
      await sleep(fast ? 400 : 700);
    }
  }

  releaseNo = 1;
  releaseT0 = Date.now();
  say('');
  say(
    bold(
      `Release 1: reviews v1 → v3 (revision 1.20.3): jason first, then 10 %, 25 %, 50 %, each gated on success rate ≥ 99 % and p99 ≤ 300 ms every ${interval}; promotion needs approval`,
    ),
  );
  await apply(crd);
  marks.push({ t: 0, label: 'release 1 applied' });
  milestone(`applied CanaryRelease ${NAMESPACE}/${RELEASE} (${release.spec.steps?.length} steps)`);
  let v = await follow((x) => x.gate === 'promotion' || isFinished(x));
  if (v.gate === 'promotion') {
    milestone('all steps passed; the release waits for approval. Approving it as a person would:');
    say(`  $ cdk8s-mesh promote ${RELEASE} -n ${NAMESPACE}`);
    let out = '';
    const code = await cli(['promote', RELEASE, '-n', NAMESPACE, '--kubeconfig', cp.kubeconfig], {
      out: (s) => (out += s),
      err: (s) => (out += s),
    });
    say(
      out
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    if (code !== 0) throw new Error(`cli promote exited ${code}`);
    marks.push({ t: seconds(), label: 'cli promote' });
    v = await follow(isFinished);
  }
  marks.push({
    t: seconds(),
    label: v.phase === 'Succeeded' ? 'promoted' : v.phase,
    bad: v.phase !== 'Succeeded',
  });
  milestone(`${v.phase}: ${v.message ?? ''}`);
  const first = v;

  // ---- release 2: reviews v3 → v2, a failure injected mid-release, rolled back ----------------
  releaseNo = 2;
  say('');
  say(
    bold(
      'Release 2: reviews v3 → v2 (revision 1.20.3-hotfix): 10 %, 30 %, 60 %; halfway through, v2 starts failing',
    ),
  );
  await sleep(1000);
  const r = await client.mergePatch(
    CANARY_RELEASES,
    { namespace: NAMESPACE, name: RELEASE },
    {
      spec: {
        stable: { subset: 'v3', deployment: 'reviews-v3' },
        canary: { subset: 'v2', deployment: 'reviews-v2', revision: '1.20.3-hotfix' },
        steps: [{ setWeight: 10 }, { setWeight: 30 }, { setWeight: 60 }],
        promotion: { manualApproval: false },
      },
    },
  );
  if (!r.ok) throw new Error(r.error.message);
  marks.push({ t: seconds(), label: 'release 2 applied' });
  milestone(`changed the release: stable v3, canary v2 (generation ${r.value.metadata.generation})`);
  let injected = false;
  v = await follow(isFinished, (x) => {
    if (!injected && x.phase === 'Progressing' && x.currentStep >= 1) {
      injected = true;
      sim.backend('reviews', 'v2').set({ errorRate: 0.3, errorStatus: 503 });
      marks.push({ t: seconds(), label: 'failure injected', bad: true });
      milestone(colour(31, 'injecting a failure: reviews v2 now answers 30 % of requests with HTTP 503'));
    }
  });
  marks.push({
    t: seconds(),
    label: v.phase === 'RolledBack' ? 'rolled back' : v.phase,
    bad: v.phase === 'RolledBack',
  });
  milestone(`${v.phase === 'RolledBack' ? colour(31, 'RolledBack') : v.phase}: ${v.message ?? ''}`);
  const second = v;

  // ---- the chart ---------------------------------------------------------------------------
  const svgFile = join(outDir, 'rollout-timeline.svg');
  writeFileSync(
    svgFile,
    timelineSvg(samples, marks, {
      title: `cdk8s-mesh demo: CanaryRelease ${NAMESPACE}/${RELEASE}`,
      releases: { 1: 'release 1: reviews v1 → v3', 2: 'release 2: reviews v3 → v2 (failure injected)' },
      successRateMin: 99,
      latencyP99MaxMs: durationMs('300ms'),
    }),
  );
  const report = await load.stop();
  say('');
  say(bold('Summary'));
  say(`  release 1 (v1 → v3): ${first.phase}`);
  say(`  release 2 (v3 → v2): ${second.phase}`);
  const answered = ['v1', 'v2', 'v3']
    .map((ver) => `${ver}=${sim.backend('reviews', ver).received}`)
    .join(' ');
  say(`  requests: ${report.sent} to productpage; reviews answered ${answered}`);
  say(`  rollout timeline chart: ${svgFile}`);
  say(`  operator log: ${logFile}`);
  say(`  total time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (first.phase !== 'Succeeded' || second.phase !== 'RolledBack')
    throw new Error(
      `expected release 1 Succeeded and release 2 RolledBack, got ${first.phase} and ${second.phase}`,
    );
}

main().then(
  async () => {
    say('[demo] stopping the operator, the simulator and the control plane…');
    await stopAll();
    say('[demo] done: nothing left running, the control plane’s temp dir is removed');
    process.exit(0);
  },
  async (e: unknown) => {
    if (e instanceof Interrupted || interrupted) return; // the SIGINT handler stops and exits
    say(`[demo] failed: ${(e as Error)?.stack ?? String(e)}`);
    await stopAll();
    process.exit(1);
  },
);
