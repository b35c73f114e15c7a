/**
 * Two operator processes with leader election on one Lease (set by flags: `--lease-duration 5s
 * --renew-deadline 3s --retry-period 500ms`) while two releases run. The leader is killed with SIGKILL mid-rollout
 * (it cannot release the Lease); the other replica takes over once the Lease has not been renewed
 * for the lease duration, and finishes both releases. Never two writers at once: every change of
 * the VirtualServices, recorded by a watch, is one step of the plan after the one before (never
 * back, never repeated), and the Events of the releases name one replica, then the other, never
 * interleaved.
 */
import { destinationWeights } from '../../api/route-weights.js';
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DESTINATION_RULES,
  EVENTS,
  KubeClient,
  LEASES,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import type { LeaseRecord } from '../../operator/runtime/leader-election.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { killHard, spawnOperator, waitLeading, type OperatorProcess } from '../harness/operator-process.js';
import {
  canaryRelease,
  must,
  sleep,
  subsetRule,
  userVirtualService,
  waitFor,
} from '../integration/operator-fixtures.js';

const LEASE_MS = 5000;
const RETRY_MS = 500;
const leaseTimings = { leaseDuration: '5s', renewDeadline: '3s', retryPeriod: '500ms' };
const SERVICES = ['reviews', 'ratings'];

let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;
const procs: OperatorProcess[] = [];
let stopWatch: (() => void) | undefined;

beforeAll(async () => {
  client = new KubeClient(cluster.kubeConfig());
  ns = await testNamespace('replicas');
});
afterAll(async () => {
  stopWatch?.();
  await Promise.all(procs.map(killHard));
  await ns?.dispose();
});

const spec = (service: string): CanaryReleaseSpecInput => ({
  service,
  stable: { subset: 'v1' },
  canary: { subset: 'v2' },
  virtualService: { name: service, route: 'primary' },
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
    { pause: { duration: '3s' } },
  ],
  analysis: { interval: '1s', threshold: 2, metrics: [{ name: 'up', query: 'vector(1)', min: 0 }] },
});

test('kill -9 of the leader: the other replica takes over within the lease duration and finishes; never two writers', async () => {
  const lease = { namespace: ns.name, name: 'operator' };
  for (const s of SERVICES) {
    must(await client.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, s, ['v1', 'v2'])));
    must(await client.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, s, 'v1')));
  }
  // every change of the VirtualServices, in order, polled every 50 ms (the steps are 2 s apart)
  const writes: { vs: string; rv: string; canary: number; weightsOk: boolean }[] = [];
  let polling = true;
  const poller = (async () => {
    for (let i = 0; polling && i < 10_000; i++) {
      for (const s of SERVICES) {
        const got = await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: s });
        if (!got.ok) continue;
        const obj = got.value;
        if (writes.some((w) => w.vs === s && w.rv === obj.metadata.resourceVersion)) continue;
        const http = (
          obj.spec as {
            http: { name?: string; route?: { destination: { subset?: string }; weight?: number }[] }[];
          }
        ).http;
        const route = http.find((r) => r.name === 'primary')?.route ?? [];
        const weights = destinationWeights(route);
        writes.push({
          vs: s,
          rv: obj.metadata.resourceVersion ?? '',
          canary: route.reduce((a, d, k) => (d.destination.subset === 'v2' ? a + weights[k]! : a), 0),
          weightsOk: weights.every(Number.isInteger) && weights.reduce((a, b) => a + b, 0) === 100,
        });
      }
      await sleep(50);
    }
  })();
  stopWatch = () => (polling = false);

  const a = spawnOperator({ namespace: ns.name, identity: 'replica-a', lease, leaseTimings });
  procs.push(a);
  await waitLeading(a, 'replica-a');
  const b = spawnOperator({ namespace: ns.name, identity: 'replica-b', lease, leaseTimings });
  procs.push(b);
  await waitFor(
    'replica-b to start',
    () => (b.lines.some((l) => l.includes('"operator started"')) ? true : undefined),
    120_000,
    100,
  );
  for (const s of SERVICES)
    must(await client.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, `${s}-v2`, spec(s))));

  // kill the leader mid-rollout
  await waitFor(
    'both releases to pass step 2',
    async () => {
      const steps = await Promise.all(
        SERVICES.map(async (s) => {
          const r = must(
            await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: `${s}-v2` }),
          );
          return (r.status as CanaryReleaseStatus | undefined)?.currentStep ?? 0;
        }),
      );
      return steps.every((x) => x >= 2) ? true : undefined;
    },
    60_000,
    100,
  );
  expect(b.lines.some((l) => l.includes('"leading: acting on releases"'))).toBe(false);
  const leaseBefore = must(
    await client.get<KubeObject & { spec?: LeaseRecord }>(LEASES, { namespace: ns.name, name: 'operator' }),
  ).spec;
  expect(leaseBefore?.holderIdentity).toBe('replica-a');
  expect(leaseBefore?.leaseDurationSeconds).toBe(5); // the flag, not the 15 s default
  const killedAt = Date.now();
  await killHard(a);
  await waitLeading(b, 'replica-b', LEASE_MS + 3 * RETRY_MS + 10_000);
  const takeoverMs = Date.now() - killedAt;
  const lastRenewMs = killedAt - Date.parse(leaseBefore!.renewTime!);

  const finals = await Promise.all(
    SERVICES.map((s) =>
      waitFor(
        `${s}-v2 to finish`,
        async () => {
          const r = must(
            await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: `${s}-v2` }),
          );
          const st = r.status as CanaryReleaseStatus | undefined;
          return st?.phase === 'Succeeded' || st?.phase === 'RolledBack' ? st : undefined;
        },
        90_000,
        200,
      ),
    ),
  );
  await sleep(500); // the last writes
  stopWatch();
  await poller;
  console.log(
    `takeover ${takeoverMs} ms after the kill (the Lease was last renewed ${lastRenewMs} ms before it; lease duration ${LEASE_MS} ms); ${writes.length} VirtualService writes`,
  );

  expect(finals.map((f) => f.phase)).toStrictEqual(['Succeeded', 'Succeeded']);
  // not before the Lease expired, and within the lease duration counted from the try at which b
  // saw the last renewal (at most one jittered retry period late), plus b's next try
  expect(takeoverMs + lastRenewMs).toBeGreaterThanOrEqual(LEASE_MS);
  expect(takeoverMs + lastRenewMs).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS * 1.2 + 1000);
  const leaseAfter = must(
    await client.get<KubeObject & { spec?: LeaseRecord }>(LEASES, { namespace: ns.name, name: 'operator' }),
  ).spec;
  expect(leaseAfter?.holderIdentity).toBe('replica-b');
  expect(leaseAfter?.leaseTransitions).toBe(1);

  // one writer at a time: each VirtualService's weights only ever move forward through the plan
  const plan = [0, 10, 20, 40, 60, 80, 100];
  for (const s of SERVICES) {
    const seq = writes.filter((w) => w.vs === s);
    expect(seq.every((w) => w.weightsOk)).toBe(true);
    const changes = seq.map((w) => w.canary).filter((w, i, xs) => i === 0 || xs[i - 1] !== w);
    // (a first write may add the canary destination at 0 before step 0's weight)
    expect(changes[0] === 0 ? changes.slice(1) : changes).toStrictEqual(plan.filter((w) => w > 0));
    const rvs = seq.map((w) => Number(w.rv));
    expect(rvs).toStrictEqual([...rvs].sort((x, y) => x - y));
  }
  // the Events name replica-a, then replica-b: never interleaved
  const events = must(
    await client.list<KubeObject & { reportingInstance?: string; eventTime?: string; reason?: string }>(
      EVENTS,
      ns.name,
    ),
  ).items.sort((x, y) => Date.parse(x.eventTime ?? '') - Date.parse(y.eventTime ?? ''));
  const reporters = events.map((e) => e.reportingInstance).filter((r, i, xs) => i === 0 || xs[i - 1] !== r);
  expect(reporters).toStrictEqual(['replica-a', 'replica-b']);
  expect([...a.errors, ...b.errors]).toStrictEqual([]);
}, 240_000);
