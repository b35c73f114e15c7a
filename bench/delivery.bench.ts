/**
 * Side by side with Flagger, in one run, on one control plane (`npm run bench -- delivery`).
 *
 * Builds Flagger from the Go module proxy on first use (`test/harness/provision.sh flagger`,
 * cached by version like every harness part; never built by `npm test`), starts the harness's
 * control plane with the apiserver's audit log on, Flagger's CRDs from its module, our operator
 * (the compiled `operator/main.js` as a process, the image's contents) and Flagger (Istio provider,
 * the same Prometheus), and drives the same release through each (see ./delivery/scenarios.ts):
 * DELIVERY_RUNS (default 5) healthy releases and as many breached ones per controller, the four
 * of a round side by side, so both controllers see the same machine.
 *
 * Prints one table: time to promote, breach visible → rollback on the route, API writes per
 * release and per route change, writes while nothing changes (counted in the audit log, by each
 * controller's ServiceAccount), and each process's RSS and CPU time; then the authoring side
 * against its anchors (./authoring.ts): synth of 100 / 1,000 / 3,000 Apps against raw cdk8s, and
 * validation of the 1,000-App mesh in-process and as a `cdk8s-mesh lint` process against
 * `istioctl analyze --use-kube=false`, measured before the control plane starts
 * (DELIVERY_AUTHORING=off skips them); then both controllers at 1, 100 and 500 releases
 * (./delivery/fleets.ts: RSS, CPU and writes per minute, each controller a process of its own on
 * a fleet of the same shape as the scale benchmark's). Never pass/fail.
 *
 * Options (`npm run bench -- delivery --rounds 5 --fleet 1,100,500 --fleet-window 60`, or
 * DELIVERY_RUNS, DELIVERY_FLEET, DELIVERY_FLEET_WINDOW_S): `--rounds 0` skips the rounds,
 * `--fleet off` the fleets.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ENV } from '../test/harness/cluster.js';
import { startControlPlane } from '../test/harness/control-plane.js';
import { provision } from '../test/harness/provision.js';
import {
  compareSynth,
  compareValidation,
  type SynthComparison,
  type ValidationComparison,
} from './authoring.js';
import { auditEntries, type AuditEntry } from '../test/harness/audit.js';
import { breakdown, writesOf } from './delivery/audit.js';
import {
  accountUser,
  serviceAccountIdentity,
  startFlagger,
  startOurs,
  type ControllerProcess,
  type Identity,
} from './delivery/controllers.js';
import { processUsage as usage, type ProcessUsage } from './process-usage.js';
import {
  IDLE_MS,
  INTERVAL_S,
  MAX_P99_MS,
  MAX_WEIGHT,
  MIN_SUCCESS,
  RPS,
  STEP_WEIGHT,
  runScenario,
  type Controller,
  type RunResult,
} from './delivery/scenarios.js';
import { measureFlagger, measureOurs, type FleetRow } from './delivery/fleets.js';
import { markdownTable } from './table.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    fleet: { type: 'string' },
    'fleet-window': { type: 'string' },
  },
  strict: true,
});
const RUNS = Math.max(0, Number(args.rounds ?? process.env.DELIVERY_RUNS ?? 5));
const FLEET_ARG = args.fleet ?? process.env.DELIVERY_FLEET ?? '1,100,500';
const FLEET_SIZES = FLEET_ARG === 'off' ? [] : FLEET_ARG.split(',').map(Number);
const FLEET_WINDOW_S = Number(args['fleet-window'] ?? process.env.DELIVERY_FLEET_WINDOW_S ?? 60);
if (
  !Number.isInteger(RUNS) ||
  FLEET_SIZES.some((n) => !Number.isInteger(n) || n < 1) ||
  !(FLEET_WINDOW_S > 0)
) {
  console.error(
    `--rounds takes a whole number, --fleet a list of counts (e.g. 1,100,500) or off, --fleet-window seconds; got ${JSON.stringify(args)}`,
  );
  process.exit(2);
}
const CONTROLLERS: readonly Controller[] = ['cdk8s-mesh', 'Flagger'];
const OURS_ACCOUNT = 'cdk8s-mesh-operator';
const FLAGGER_ACCOUNT = 'flagger';

const log = (line: string) => process.stderr.write(`[delivery] ${line}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `median (min–max)`, in the unit `fmt` gives. */
function spread(xs: readonly number[], fmt: (x: number) => string): string {
  if (xs.length === 0) return '-';
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

async function main(): Promise<void> {
  const t0 = performance.now();
  const bin = provision(['tools', 'etcd', 'kubernetes', 'kwok', 'prometheus', 'istioctl']);
  const tFlagger = performance.now();
  const cached = existsSync(join(bin, 'flagger'));
  provision(['flagger']);
  const flaggerProvisionS = (performance.now() - tFlagger) / 1000;
  log(
    `Flagger ${cached ? 'from the cache' : 'built'} in ${flaggerProvisionS.toFixed(1)} s (provision ${((tFlagger - t0) / 1000).toFixed(1)} s before it)`,
  );
  // The authoring rows next (istioctl, their anchor, is provisioned by now), on a machine the
  // controllers do not load yet.
  const authoring = process.env.DELIVERY_AUTHORING !== 'off';
  if (authoring) log('authoring: synth of 100 / 1,000 / 3,000 Apps and validation of 1,000 Apps');
  const synth = authoring ? compareSynth([100, 1000, 3000], 3) : [];
  const validation = authoring ? compareValidation(1000, 5) : undefined;

  const workDir = mkdtempSync(join(tmpdir(), 'cdk8s-mesh-delivery-'));
  const cp = await startControlPlane({
    bin,
    workDir,
    auditAllWritesOf: [OURS_ACCOUNT, FLAGGER_ACCOUNT].map(accountUser),
    extraCrds: [join(bin, 'flagger-crds.yaml')],
    log: (l) => log(l),
  });
  process.env[ENV.kubeconfig] = cp.kubeconfig;
  process.env[ENV.prometheusUrl] = cp.prometheusUrl;
  process.env[ENV.prometheusTargets] = cp.prometheusTargetsDir;
  process.env[ENV.bin] = bin;
  process.env[ENV.workDir] = cp.workDir;
  process.env[ENV.auditLog] = cp.auditLog;

  const procs: ControllerProcess[] = [];
  const results: RunResult[] = [];
  const failures: string[] = [];
  const ids = new Map<Controller, Identity>();
  const idleUsage = new Map<Controller, ProcessUsage>();
  const cpuPerRound = new Map<Controller, number[]>();
  try {
    ids.set('cdk8s-mesh', await serviceAccountIdentity(cp, OURS_ACCOUNT));
    ids.set('Flagger', await serviceAccountIdentity(cp, FLAGGER_ACCOUNT));
    const ours = await startOurs(cp, ids.get('cdk8s-mesh')!);
    procs.push(ours);
    const flagger = await startFlagger(cp, bin, ids.get('Flagger')!);
    procs.push(flagger);
    const byName = new Map<Controller, ControllerProcess>([
      ['cdk8s-mesh', ours],
      ['Flagger', flagger],
    ]);
    for (const c of CONTROLLERS) idleUsage.set(c, usage(byName.get(c)!.pid));
    log(`operator (pid ${ours.pid}, Node ${process.version}) and Flagger (pid ${flagger.pid}) running`);

    for (let round = 1; round <= RUNS; round++) {
      const before = new Map(CONTROLLERS.map((c) => [c, usage(byName.get(c)!.pid).cpuS]));
      const settled = await Promise.allSettled(
        CONTROLLERS.flatMap((c) => [
          runScenario(c, 'promote', round * 10 + 1),
          runScenario(c, 'rollback', round * 10 + 2),
        ]),
      );
      for (const c of CONTROLLERS) {
        const list = cpuPerRound.get(c) ?? [];
        list.push(usage(byName.get(c)!.pid).cpuS - before.get(c)!);
        cpuPerRound.set(c, list);
      }
      for (const s of settled) {
        if (s.status === 'fulfilled') results.push(s.value);
        else {
          failures.push(`round ${round}: ${(s.reason as Error).message}`);
          log(`round ${round}: a run failed: ${(s.reason as Error).message}`);
        }
      }
      log(
        `round ${round}/${RUNS}: ${settled
          .filter((s): s is PromiseFulfilledResult<RunResult> => s.status === 'fulfilled')
          .map(
            (s) =>
              `${s.value.controller} ${s.value.scenario} ${sec(s.value.promoteMs ?? s.value.rollbackMs ?? 0)}`,
          )
          .join(', ')}`,
      );
    }
    const end = new Map(CONTROLLERS.map((c) => [c, usage(byName.get(c)!.pid)]));
    const writes = auditEntries(0);
    // The rounds' controllers stop before the fleets, each of which starts its own.
    for (const p of procs.splice(0).reverse()) await p.stop().catch(() => undefined);
    const fleets: FleetRow[] = [];
    for (const size of FLEET_SIZES) {
      for (const c of CONTROLLERS) {
        log(`${c} at ${size} releases`);
        try {
          const row =
            c === 'Flagger'
              ? await measureFlagger(cp, bin, ids.get(c)!, size, FLEET_WINDOW_S, log)
              : await measureOurs(cp, ids.get(c)!, size, FLEET_WINDOW_S, log);
          fleets.push(row);
          log(JSON.stringify(row));
        } catch (e) {
          failures.push(`${c} at ${size} releases: ${(e as Error).message}`);
          log(`${c} at ${size} releases: stopped: ${(e as Error).message}`);
        }
      }
    }
    if (RUNS > 0)
      print(results, writes, ids, idleUsage, end, cpuPerRound, flaggerProvisionS, cached, synth, validation);
    else if (authoring)
      console.log(
        markdownTable([['', 'cdk8s-mesh', 'anchor', 'anchor is'], ...authoringRows(synth, validation)]),
      );
    if (fleets.length) printFleets(fleets);
    for (const f of failures) console.log(`FAILED RUN ${f}`);
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    await cp.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function print(
  results: readonly RunResult[],
  writes: readonly AuditEntry[],
  ids: ReadonlyMap<Controller, Identity>,
  startUsage: ReadonlyMap<Controller, ProcessUsage>,
  endUsage: ReadonlyMap<Controller, ProcessUsage>,
  cpuPerRound: ReadonlyMap<Controller, readonly number[]>,
  flaggerProvisionS: number,
  flaggerCached: boolean,
  synth: readonly SynthComparison[],
  validation: ValidationComparison | undefined,
): void {
  const of = (c: Controller, s: RunResult['scenario']) =>
    results.filter((r) => r.controller === c && r.scenario === s);
  const releaseWrites = (r: RunResult) =>
    writesOf(writes, ids.get(r.controller)!.user, r.namespace, r.triggeredAt, r.settledAt);
  /**
   * The writes of each step of a promoted release that runs by itself: from one write of the route
   * to the next, leaving out the first (the start) and the last (the promotion).
   */
  const stepWrites = (r: RunResult) => {
    const w = releaseWrites(r);
    const routes = w
      .filter((e) => e.resource === 'virtualservices' && e.verb !== 'create')
      .map((e) => e.at!)
      .sort((x, y) => x - y);
    const out: number[] = [];
    for (let i = 1; i + 1 < routes.length; i++)
      out.push(w.filter((e) => e.at! >= routes[i]! && e.at! < routes[i + 1]!).length);
    return out;
  };
  const idleWrites = (r: RunResult) =>
    writesOf(writes, ids.get(r.controller)!.user, r.namespace, r.settledAt, r.idleUntil);
  const col = (c: Controller) => {
    const promote = of(c, 'promote');
    const rollback = of(c, 'rollback');
    const perRelease = promote.map((r) => releaseWrites(r).length);
    const perChange = promote.map((r) => releaseWrites(r).length / Math.max(1, (r.weights?.length ?? 1) - 1));
    const idle = [...promote, ...rollback].map((r) => idleWrites(r).length);
    const start = startUsage.get(c)!;
    const end = endUsage.get(c)!;
    return {
      runs: `${promote.length} + ${rollback.length}`,
      promote: spread(
        promote.map((r) => r.promoteMs!),
        sec,
      ),
      route: promote[0]?.weights?.join(' → ') ?? '-',
      rollback: spread(
        rollback.map((r) => r.rollbackMs!),
        sec,
      ),
      visible: spread(
        rollback.map((r) => r.visibleAfterMs!),
        sec,
      ),
      perRelease: spread(perRelease, num),
      perChange: spread(perChange, num),
      perStep: spread(promote.flatMap(stepWrites), num),
      rollbackWrites: spread(
        rollback.map((r) => releaseWrites(r).length),
        num,
      ),
      idle: `${spread(idle, num)} in ${IDLE_MS / 1000} s`,
      what: promote[0] ? breakdown(releaseWrites(promote[0])) : '-',
      idleWhat: breakdown([...promote, ...rollback].flatMap(idleWrites)) || 'none',
      rss: `${start.rssMiB.toFixed(0)} → ${end.rssMiB.toFixed(0)} MiB`,
      cpu: spread(cpuPerRound.get(c) ?? [], (x) => `${x.toFixed(1)} s`),
    };
  };
  const a = col('cdk8s-mesh');
  const b = col('Flagger');
  const rows = [
    ['', 'cdk8s-mesh', 'anchor', 'anchor is'],
    ['runs (promote + rollback)', a.runs, b.runs, 'Flagger v1.36.1'],
    ['time to promote a healthy release (trigger → done)', a.promote, b.promote, 'Flagger v1.36.1'],
    ['canary weights on the route', a.route, b.route, 'Flagger v1.36.1'],
    ['breach visible in Prometheus → rollback on the route', a.rollback, b.rollback, 'Flagger v1.36.1'],
    ['(errors injected → breach visible)', a.visible, b.visible, 'Flagger v1.36.1'],
    ['API writes per promoted release', a.perRelease, b.perRelease, 'Flagger v1.36.1'],
    [
      'API writes per route change (all of a release / its route changes)',
      a.perChange,
      b.perChange,
      'Flagger v1.36.1',
    ],
    [
      'API writes per step (route write → next, start and promotion left out)',
      a.perStep,
      b.perStep,
      'Flagger v1.36.1',
    ],
    ['API writes per rolled-back release', a.rollbackWrites, b.rollbackWrites, 'Flagger v1.36.1'],
    ['API writes when nothing changed', a.idle, b.idle, 'Flagger v1.36.1'],
    ['RSS, start → end of the run', a.rss, b.rss, 'Flagger v1.36.1'],
    ['CPU time per round (4 releases, 2 of each)', a.cpu, b.cpu, 'Flagger v1.36.1'],
    ...authoringRows(synth, validation),
  ];
  console.log(
    `Side by side: interval ${INTERVAL_S} s, threshold 1, step weights ${STEP_WEIGHT} → ${MAX_WEIGHT} (stepWeight ${STEP_WEIGHT}, maxWeight ${MAX_WEIGHT}), ` +
      `success rate ≥ ${MIN_SUCCESS} %, p99 ≤ ${MAX_P99_MS} ms, ${RPS} rps from the traffic simulator, 20 % 5xx for the breach; ` +
      `median (min–max); writes counted in the apiserver's audit log per ServiceAccount\n`,
  );
  console.log(markdownTable(rows));
  console.log(`\nwrites of one promoted release, cdk8s-mesh: ${a.what}`);
  console.log(`writes of one promoted release, Flagger: ${b.what}`);
  console.log(`writes when nothing changed, all runs, cdk8s-mesh: ${a.idleWhat}`);
  console.log(`writes when nothing changed, all runs, Flagger: ${b.idleWhat}`);
  console.log(
    `Flagger: ${flaggerCached ? 'cached binary' : 'built from the Go module proxy'} (provision ${flaggerProvisionS.toFixed(1)} s); our operator: operator/main.js on Node ${process.version}`,
  );
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
const ratio = (x: number, anchor: number | undefined) => (anchor ? `${(x / anchor).toFixed(2)}×` : '-');

/** The authoring side's rows of the table: synth against raw cdk8s, validation against istioctl. */
function authoringRows(
  synth: readonly SynthComparison[],
  validation: ValidationComparison | undefined,
): string[][] {
  return [
    ...synth.map((x) => [
      `synth of ${x.apps} Apps (${ratio(x.constructsMs, x.rawMs)} the anchor)`,
      ms(x.constructsMs),
      ms(x.rawMs),
      'the same objects as raw cdk8s ApiObjects',
    ]),
    ...(validation
      ? [
          [
            `validate ${validation.apps} Apps (${validation.objects} objects) in-process (${ratio(validation.inProcessMs, validation.istioctlMs)})`,
            ms(validation.inProcessMs),
            validation.istioctlMs === undefined ? 'not provisioned' : ms(validation.istioctlMs),
            'istioctl analyze --use-kube=false, same YAML',
          ],
          [
            `cdk8s-mesh lint of that YAML as a process (${ratio(validation.lintProcessMs, validation.istioctlMs)})`,
            ms(validation.lintProcessMs),
            validation.istioctlMs === undefined ? 'not provisioned' : ms(validation.istioctlMs),
            'istioctl analyze --use-kube=false, same YAML',
          ],
        ]
      : [['authoring rows', 'skipped (DELIVERY_AUTHORING=off)', '-', '-']]),
  ];
}

function printFleets(rows: readonly FleetRow[]): void {
  const sizes = [...new Set(rows.map((r) => r.releases))];
  const cell = (c: Controller, n: number, f: (r: FleetRow) => string) => {
    const r = rows.find((x) => x.controller === c && x.releases === n);
    return r ? f(r) : 'not measured';
  };
  const line = (what: string, f: (r: FleetRow) => string) =>
    sizes.flatMap((n) => [[`${what} at ${n}`, cell('cdk8s-mesh', n, f), cell('Flagger', n, f)]]);
  console.log(
    `\nAt N releases (Flagger: Canaries), each controller a process of its own on a fleet of its own: ` +
      `interval ${INTERVAL_S} s, no traffic, every release in its analysis; window ${FLEET_WINDOW_S} s\n`,
  );
  console.log(
    markdownTable([
      ['', 'cdk8s-mesh', 'Flagger v1.36.1'],
      ...line('RSS (most in the window)', (r) => `${r.rssMiB.toFixed(0)} MiB`),
      ...line(
        "of that RSS, the process's own (not mapped files)",
        (r) => `${(r.rssMiB - r.fileMiB).toFixed(0)} MiB`,
      ),
      ...line('CPU s/min', (r) => r.cpuPerMin.toFixed(2)),
      ...line('API writes/min', (r) => r.writesPerMin.toFixed(0)),
      ...line('start → every release in its analysis', (r) => sec(r.inAnalysisS * 1000)),
      ...line('reconcile p50 / p99', (r) => r.reconcile ?? 'not exposed'),
    ]),
  );
  for (const r of rows) console.log(`writes at ${r.releases}, ${r.controller}: ${r.writes}`);
}

await main();
