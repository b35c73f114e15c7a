/**
 * The control plane restarted under a running release. This file starts its own etcd and
 * kube-apiserver (the shared control plane serves the other test files at the same time, so it is
 * never restarted): kube-apiserver is restarted gracefully (SIGTERM, as a rolling upgrade does),
 * etcd is killed (SIGKILL) and started again on the same ports and data dir, each while the
 * operator process (Lease timings 5s / 3s / 500ms) is in the middle of a release.
 *
 * The outage outlasts the renew deadline, so the leader stops acting, and must take the Lease
 * again once the apiserver answers. What must hold: the operator process survives and logs no
 * error, its watches come back, it leads again and resumes; every state of the VirtualService
 * (polled every 50 ms) has integer weights summing to 100 and follows the plan forward, no step
 * skipped, none repeated; the release's history records every step once; the release is
 * promoted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { destinationWeights } from '../../api/route-weights.js';
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { HISTORY_LIMIT } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DESTINATION_RULES,
  KubeClient,
  LEASES,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import type { LeaseRecord } from '../../operator/runtime/leader-election.js';
import { cluster } from '../harness/cluster.js';
import { reportFigures } from '../harness/figures.js';
import { startReleaseApiCore, type ApiCore } from '../harness/control-plane.js';
import { killHard, spawnOperator, waitLeading, type OperatorProcess } from '../harness/operator-process.js';
import type { RestartablePart } from '../harness/processes.js';
import {
  canaryRelease,
  must,
  sleep,
  subsetRule,
  transitions,
  userVirtualService,
  waitFor,
} from '../integration/operator-fixtures.js';

const leaseTimings = { leaseDuration: '5s', renewDeadline: '3s', retryPeriod: '500ms' };
const RENEW_DEADLINE_MS = 3000;
const PLAN = [10, 20, 40, 60, 80, 100];

let workDir: string;
let core: ApiCore;
let client: KubeClient;
let kc: k8s.KubeConfig;
const procs: OperatorProcess[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'e2e-cp-restart-'));
  core = await startReleaseApiCore({ bin: cluster.bin, workDir });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(core.kubeconfig);
  client = new KubeClient(kc);
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map(killHard));
  await core?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v2' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [
    { setWeight: 10 },
    { pause: { duration: '2s' } },
    { setWeight: 20 },
    { pause: { duration: '2s' } },
    { setWeight: 40 },
    { pause: { duration: '2s' } },
    { setWeight: 60 },
    { pause: { duration: '2s' } },
    { setWeight: 80 },
    { pause: { duration: '2s' } },
  ],
  analysis: { interval: '1s', threshold: 2, metrics: [{ name: 'up', query: 'vector(1)', min: 0 }] },
};

interface VsState {
  readonly rv: string;
  readonly canary: number;
  readonly weightsOk: boolean;
}

/**
 * Runs one release in namespace `ns`, restarts `part` (by `signal`, down at least `downMs`) once
 * the release has passed step 2, and returns what was seen.
 */
async function releaseThroughRestart(
  ns: string,
  part: RestartablePart,
  signal: NodeJS.Signals,
  downMs: number,
) {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  must(await client.create(DESTINATION_RULES, ns, subsetRule(ns, 'reviews', ['v1', 'v2'])));
  must(await client.create(VIRTUAL_SERVICES, ns, userVirtualService(ns, 'reviews', 'v1')));
  const op = spawnOperator({
    namespace: ns,
    identity: `operator-${ns}`,
    lease: { namespace: ns, name: 'operator' },
    leaseTimings,
    kubeconfig: core.kubeconfig,
  });
  procs.push(op);
  await waitLeading(op, 'the operator');

  // every state of the VirtualService, polled every 50 ms; reads fail while the part is down
  const states: VsState[] = [];
  let failedReads = 0;
  let slowestReadMs = 0;
  let polling = true;
  const poller = (async () => {
    for (let i = 0; polling && i < 4000; i++) {
      const t = Date.now();
      const got = await client.get(VIRTUAL_SERVICES, { namespace: ns, name: 'reviews' });
      slowestReadMs = Math.max(slowestReadMs, Date.now() - t);
      if (!got.ok) failedReads++;
      else if (states.at(-1)?.rv !== got.value.metadata.resourceVersion) {
        const route =
          (
            got.value.spec as {
              http: { name?: string; route?: { destination: { subset?: string }; weight?: number }[] }[];
            }
          ).http.find((r) => r.name === 'primary')?.route ?? [];
        const weights = destinationWeights(route);
        states.push({
          rv: got.value.metadata.resourceVersion ?? '',
          canary: route.reduce((a, d, k) => (d.destination.subset === 'v2' ? a + weights[k]! : a), 0),
          weightsOk: weights.every(Number.isInteger) && weights.reduce((a, b) => a + b, 0) === 100,
        });
      }
      await sleep(50);
    }
  })();

  must(await client.create(CANARY_RELEASES, ns, canaryRelease(ns, 'reviews-v2', spec)));
  const status = async () =>
    (must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns, name: 'reviews-v2' }))
      .status ?? undefined) as CanaryReleaseStatus | undefined;
  await waitFor(
    'the release to pass step 2',
    async () => ((await status())?.currentStep ?? 0) >= 2 || undefined,
    30_000,
    100,
  );
  const stepAtRestart = (await status())?.currentStep;
  const linesBefore = op.lines.length;

  const t0 = Date.now();
  await part.stop(signal);
  await sleep(downMs);
  await part.start();
  const outageMs = Date.now() - t0;

  const final = await waitFor(
    'the release to finish after the restart',
    async () => {
      const s = await status();
      return s?.phase === 'Succeeded' || s?.phase === 'RolledBack' ? s : undefined;
    },
    45_000,
    200,
  );
  await sleep(300);
  polling = false;
  await poller;
  const lease = must(
    await client.get<KubeObject & { spec?: LeaseRecord }>(LEASES, { namespace: ns, name: 'operator' }),
  ).spec;
  const after = op.lines.slice(linesBefore).map((l) => (JSON.parse(l) as { msg: string }).msg);
  return { op, final, states, failedReads, slowestReadMs, outageMs, stepAtRestart, lease, after };
}

function restartFigures(fault: string, r: Awaited<ReturnType<typeof releaseThroughRestart>>) {
  return {
    fault,
    count: `1 release of ${spec.steps!.length} steps, down ${r.outageMs} ms at step ${r.stepAtRestart}`,
    outcome: `${r.final.phase}; ${r.failedReads} reads refused, slowest ${r.slowestReadMs} ms; weights ${r.states.map((s) => s.canary).join(' → ')}, each step once`,
  };
}

function expectRodeItOut(r: Awaited<ReturnType<typeof releaseThroughRestart>>): void {
  // the process lived through it, logged no error, lost the Lease's leadership and took it back
  expect(r.op.child.exitCode).toBeNull();
  expect(r.op.errors).toStrictEqual([]);
  expect(r.outageMs).toBeGreaterThan(RENEW_DEADLINE_MS);
  const stopped = r.after.indexOf('not leading: acting on nothing');
  expect(stopped).toBeGreaterThanOrEqual(0);
  expect(r.after.indexOf('leading: acting on releases', stopped)).toBeGreaterThan(stopped);
  // the VirtualService: valid weights in every state, the plan forward, nothing repeated or skipped
  // the poll saw the outage: reads refused, or held until etcd was back
  expect(r.failedReads > 0 || r.slowestReadMs > 2000).toBe(true);
  expect(r.states.every((s) => s.weightsOk)).toBe(true);
  const changes = r.states.map((s) => s.canary).filter((w, i, xs) => i === 0 || xs[i - 1] !== w);
  expect(changes[0] === 0 ? changes.slice(1) : changes).toStrictEqual(PLAN);
  const rvs = r.states.map((s) => Number(s.rv));
  expect(rvs).toStrictEqual([...rvs].sort((x, y) => x - y));
  // the status: promoted, every step recorded once, in order (the history keeps the last 10)
  expect(r.final.phase).toBe('Succeeded');
  expect(transitions(r.final.history).map((h) => [h.reason, h.step])).toStrictEqual(
    [
      ['Started', 0],
      ...Array.from({ length: spec.steps!.length - 1 }, (_, i) => ['StepAdvanced', i + 1]),
      ['Promoted', spec.steps!.length],
    ].slice(-HISTORY_LIMIT),
  );
}

test('kube-apiserver restarted mid-release (SIGTERM, same port, etcd keeps the data): the operator leads again, resumes, loses no step', async () => {
  const r = await releaseThroughRestart('restart-apiserver', core.apiserver, 'SIGTERM', 1000);
  console.log(
    `kube-apiserver down ${r.outageMs} ms at step ${r.stepAtRestart}; ${r.failedReads} failed reads, slowest ${r.slowestReadMs} ms; VirtualService states: ${r.states.map((s) => s.canary).join(' → ')}; operator after the restart: ${[...new Set(r.after)].slice(0, 12).join(' | ')}`,
  );
  expectRodeItOut(r);
  reportFigures(restartFigures('kube-apiserver restarted mid-release (SIGTERM, etcd keeps the data)', r));
  // its watches broke with the apiserver and came back (with etcd, the apiserver's watch cache
  // may keep them open)
  expect(r.after.some((m) => /^watch of .* failed/.test(m))).toBe(true);
  expect(r.lease?.holderIdentity).toBe('operator-restart-apiserver');
}, 120_000);

test('etcd killed and restarted mid-release (SIGKILL, same data dir): the operator leads again, resumes, loses no step', async () => {
  const r = await releaseThroughRestart('restart-etcd', core.etcd, 'SIGKILL', RENEW_DEADLINE_MS + 1000);
  console.log(
    `etcd down ${r.outageMs} ms at step ${r.stepAtRestart}; ${r.failedReads} failed reads, slowest ${r.slowestReadMs} ms; VirtualService states: ${r.states.map((s) => s.canary).join(' → ')}; operator after the restart: ${[...new Set(r.after)].slice(0, 12).join(' | ')}`,
  );
  expectRodeItOut(r);
  expect(r.lease?.holderIdentity).toBe('operator-restart-etcd');
  reportFigures(restartFigures('etcd killed and restarted mid-release (SIGKILL, same data dir)', r));
}, 120_000);
