/**
 * Leader election on a real coordination.k8s.io/v1 Lease: of two candidates exactly one leads;
 * when it stops it releases the Lease and the other takes over at its next try; when it vanishes
 * without releasing (a crash), the other takes over once the Lease has not been renewed for a
 * lease duration. Short durations keep the test quick: lease 3 s, renew deadline 2 s, retry 250 ms.
 */
import { KubeClient, LEASES } from '../../operator/adapters/kubernetes.js';
import { LeaderElector, type LeaseRecord } from '../../operator/runtime/leader-election.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { must, waitFor } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  client = new KubeClient(cluster.kubeConfig());
  ns = await testNamespace('op-leader');
});
afterAll(async () => {
  await Promise.all(electors.map((e) => e.stop()));
  await ns?.dispose();
});

function candidate(lease: string, identity: string, log: string[]): LeaderElector {
  const e = new LeaderElector({
    client,
    namespace: ns.name,
    name: lease,
    identity,
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 250,
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} stops`),
  });
  electors.push(e);
  return e;
}

async function holder(lease: string): Promise<LeaseRecord | undefined> {
  return must(
    await client.get<{ metadata: { name: string }; spec?: LeaseRecord }>(LEASES, {
      namespace: ns.name,
      name: lease,
    }),
  ).spec;
}

describe('leader election on a real Lease', () => {
  test('one of two candidates leads; after it stops (releasing the Lease) the other takes over at once', async () => {
    const log: string[] = [];
    const a = candidate('graceful', 'replica-a', log);
    const b = candidate('graceful', 'replica-b', log);
    a.start();
    await waitFor('replica-a to lead', () => (a.isLeader ? true : undefined), 10_000, 50);
    b.start();
    // b keeps trying for over a lease duration and never leads while a renews
    const until = Date.now() + 4000;
    for (let i = 0; i < 200 && Date.now() < until; i++) {
      expect(a.isLeader && b.isLeader).toBe(false);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect((await holder('graceful'))?.holderIdentity).toBe('replica-a');

    const t0 = Date.now();
    await a.stop();
    expect(a.isLeader).toBe(false);
    await waitFor('replica-b to lead', () => (b.isLeader ? true : undefined), 5000, 20);
    const takeover = Date.now() - t0;
    const rec = await holder('graceful');
    expect(rec?.holderIdentity).toBe('replica-b');
    expect(rec?.leaseTransitions).toBe(1);
    expect(log).toStrictEqual(['replica-a leads', 'replica-a stops', 'replica-b leads']);
    console.log(`takeover after a graceful stop: ${takeover} ms (retry period 250 ms)`);
    expect(takeover).toBeLessThan(1500);
  });

  test('after a crash (the Lease is not released) the other takes over once the Lease expires', async () => {
    const log: string[] = [];
    const a = candidate('crash', 'replica-a', log);
    const b = candidate('crash', 'replica-b', log);
    a.start();
    await waitFor('replica-a to lead', () => (a.isLeader ? true : undefined), 10_000, 50);
    b.start();
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await a.stop({ release: false });
    expect((await holder('crash'))?.holderIdentity).toBe('replica-a');
    await waitFor('replica-b to lead', () => (b.isLeader ? true : undefined), 10_000, 20);
    const takeover = Date.now() - t0;
    console.log(`takeover after a crash: ${takeover} ms (lease duration 3000 ms)`);
    // not before the lease duration has passed since b last saw a renewal, not much after
    expect(takeover).toBeGreaterThanOrEqual(2000);
    expect(takeover).toBeLessThan(5000);
    expect((await holder('crash'))?.holderIdentity).toBe('replica-b');
  });
});
