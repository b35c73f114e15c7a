/**
 * The pure step of leader election (`leaseStep`), table-driven with literal times, and the
 * elector's loop on a manual clock with an in-memory Lease store that enforces resourceVersion
 * preconditions like the apiserver.
 */
import { err, ok } from '../../../../operator/core/result.js';
import type {
  KubeClient,
  KubeError,
  KubeObject,
  ObjectRef,
  ResourceType,
} from '../../../../operator/adapters/kubernetes.js';
import {
  LeaderElector,
  leaseStep,
  releasedRecord,
  type LeaseRecord,
  type Observed,
} from '../../../../operator/runtime/leader-election.js';
import { FakeClock, settle } from './fake-clock.js';

const T = Date.parse('2026-11-25T10:00:00.000Z');
const micro = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');
const held = (holder: string, transitions = 0): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: micro(T - 60_000),
  renewTime: micro(T - 1_000),
  leaseTransitions: transitions,
});

describe('leaseStep', () => {
  test.each<
    [
      string,
      LeaseRecord | undefined,
      Observed,
      number,
      string,
      Partial<LeaseRecord> | { holder: string; expiresInMs: number },
    ]
  >([
    [
      'no Lease: create it, holding it',
      undefined,
      { record: undefined, at: 0 },
      T,
      'create',
      {
        holderIdentity: 'me',
        leaseTransitions: 0,
        acquireTime: micro(T),
        renewTime: micro(T),
        leaseDurationSeconds: 15,
      },
    ],
    [
      'a live Lease of another, just seen: wait a full duration',
      held('other'),
      { record: undefined, at: 0 },
      T,
      'wait',
      { holder: 'other', expiresInMs: 15_000 },
    ],
    [
      'another holder, unchanged for 10 s on my clock: wait 5 s more',
      held('other'),
      { record: held('other'), at: T - 10_000 },
      T,
      'wait',
      { holder: 'other', expiresInMs: 5_000 },
    ],
    [
      'another holder, unchanged for 15 s on my clock: take over, one more transition',
      held('other', 4),
      { record: held('other', 4), at: T - 15_000 },
      T,
      'update',
      { holderIdentity: 'me', leaseTransitions: 5, acquireTime: micro(T), renewTime: micro(T) },
    ],
    [
      'my own Lease: renew, keeping acquireTime and transitions',
      held('me', 2),
      { record: held('me', 2), at: T - 2_000 },
      T,
      'update',
      { holderIdentity: 'me', leaseTransitions: 2, acquireTime: micro(T - 60_000), renewTime: micro(T) },
    ],
    [
      'a released Lease (empty holder): take it at once',
      releasedRecord(held('other', 3), T - 100),
      { record: undefined, at: 0 },
      T,
      'update',
      { holderIdentity: 'me', leaseTransitions: 4 },
    ],
  ])('%s', (_name, current, observed, now, kind, expected) => {
    const { step } = leaseStep('me', current, observed, now, 15_000);
    expect(step.kind).toBe(kind);
    if (step.kind === 'wait')
      expect({ holder: step.holder, expiresInMs: step.expiresInMs }).toStrictEqual(expected);
    else expect(step.record).toMatchObject(expected);
  });

  test("clock skew does not matter: a renewTime far in the past on the holder's clock still counts as live when it just changed", () => {
    const skewed = { ...held('other'), renewTime: micro(T - 3_600_000) };
    const { step } = leaseStep('me', skewed, { record: held('other'), at: T - 14_000 }, T, 15_000);
    expect(step.kind).toBe('wait');
  });
});

/** Leases in memory, refusing a replace whose resourceVersion is not the current one. */
class MemoryLeases {
  private rv = 0;
  lease: (KubeObject & { spec?: LeaseRecord }) | undefined;
  client = {
    get: async (_t: ResourceType, ref: ObjectRef) =>
      this.lease
        ? ok(structuredClone(this.lease))
        : err<KubeError>({ kind: 'NotFound', status: 404, message: `lease ${ref.name} not found` }),
    create: async (_t: ResourceType, _ns: string, body: KubeObject) => {
      if (this.lease) return err<KubeError>({ kind: 'Conflict', status: 409, message: 'exists' });
      this.lease = {
        ...structuredClone(body),
        metadata: { ...body.metadata, resourceVersion: String(++this.rv) },
      };
      return ok(structuredClone(this.lease));
    },
    replace: async (_t: ResourceType, _ref: ObjectRef, body: KubeObject) => {
      if (!this.lease || body.metadata.resourceVersion !== this.lease.metadata.resourceVersion)
        return err<KubeError>({ kind: 'Conflict', status: 409, message: 'modified' });
      this.lease = {
        ...structuredClone(body),
        metadata: { ...body.metadata, resourceVersion: String(++this.rv) },
      };
      return ok(structuredClone(this.lease));
    },
  } as unknown as KubeClient;
}

describe('LeaderElector on a manual clock', () => {
  test('two candidates: one leads; a crashed leader is replaced after the lease duration, a stopped one at once', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const log: string[] = [];
    const make = (id: string) =>
      new LeaderElector({
        client: store.client,
        namespace: 'ns',
        name: 'lease',
        identity: id,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        clock,
        onStartedLeading: () => log.push(`${id}+`),
        onStoppedLeading: () => log.push(`${id}-`),
      });
    const a = make('a');
    const b = make('b');
    a.start();
    await settle();
    b.start();
    for (let i = 0; i < 20; i++) await clock.advance(1_000);
    expect([a.isLeader, b.isLeader]).toStrictEqual([true, false]);

    await a.stop({ release: false }); // a crash: the Lease stays a's
    let t = 0;
    while (!b.isLeader && t < 30_000) {
      await clock.advance(500);
      t += 500;
    }
    expect(b.isLeader).toBe(true);
    // b takes over at its first retry once a lease duration (15 s) has passed since it last saw the
    // Lease change. It polls every 2–2.4 s (jittered), so it saw the last renew between 2.4 s before
    // the crash and 2.4 s after it, and its retry may come 2.4 s after expiry; t moves in 0.5 s steps.
    expect(t).toBeGreaterThanOrEqual(13_000);
    expect(t).toBeLessThanOrEqual(20_500);
    expect(store.lease?.spec?.leaseTransitions).toBe(1);

    const c = make('c');
    c.start();
    await clock.advance(3_000);
    expect(c.isLeader).toBe(false);
    await b.stop(); // graceful: released
    expect(store.lease?.spec?.holderIdentity).toBe('');
    await clock.advance(2_500);
    expect(c.isLeader).toBe(true);
    await c.stop();
    expect(log).toStrictEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  test('a leader that cannot renew for the renew deadline stops acting before anyone else can take over', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const a = new LeaderElector({
      client: store.client,
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      clock,
    });
    a.start();
    await clock.advance(100);
    expect(a.isLeader).toBe(true);
    const real = store.client.get;
    (store.client as { get: unknown }).get = async () =>
      err<KubeError>({ kind: 'Unavailable', status: 0, message: 'apiserver down' });
    let t = 0;
    while (a.isLeader && t < 20_000) {
      await clock.advance(500);
      t += 500;
    }
    expect(a.isLeader).toBe(false);
    expect(t).toBeGreaterThanOrEqual(10_000 - 2_000);
    expect(t).toBeLessThan(15_000); // before the Lease could expire for others
    (store.client as { get: unknown }).get = real;
    await a.stop();
  });

  test('a leader whose renewal hangs (the apiserver waiting on etcd) stops acting at the renew deadline, with one request out, and leads again once it answers', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const errors: string[] = [];
    const a = new LeaderElector({
      client: store.client,
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      clock,
      onError: (m) => errors.push(m),
    });
    a.start();
    await clock.advance(100);
    expect(a.isLeader).toBe(true);
    const real = store.client.get;
    let release: () => void = () => undefined;
    let hung = 0;
    (store.client as { get: unknown }).get = (t: ResourceType, ref: ObjectRef) => {
      hung++;
      return new Promise((r) => (release = () => r(real(t, ref))));
    };
    let t = 0;
    while (a.isLeader && t < 20_000) {
      await clock.advance(500);
      t += 500;
    }
    expect(a.isLeader).toBe(false);
    // the renewal after the last good one hangs from up to one retry period later; the deadline
    // counts from the last good renewal
    expect(t).toBeGreaterThanOrEqual(10_000 - 2_000);
    expect(t).toBeLessThanOrEqual(10_000);
    for (let i = 0; i < 10; i++) await clock.advance(2_000);
    expect(hung).toBe(1); // waited on again at every retry, never sent twice
    expect(errors).toContain('renewing Lease ns/lease took past the renew deadline (10000 ms)');
    (store.client as { get: unknown }).get = real;
    release();
    await clock.advance(2_500);
    expect(a.isLeader).toBe(true);
    await a.stop();
  });

  test('fails if the renew deadline is not shorter than the lease duration', () => {
    expect(
      () =>
        new LeaderElector({
          client: new MemoryLeases().client,
          namespace: 'n',
          name: 'l',
          identity: 'a',
          leaseDurationMs: 5_000,
          renewDeadlineMs: 6_000,
        }),
    ).toThrow(
      'leader election: renewDeadlineMs (6s) must be shorter than leaseDurationMs (5s): a leader that cannot renew must stop acting before another replica may take over',
    );
  });
});
