/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: every
 * replica tries to take or renew the Lease every `retryPeriodMs`; the holder acts; a holder that
 * cannot renew for `renewDeadlineMs` stops acting; another replica takes over once the Lease has
 * not been renewed for `leaseDurationMs` as measured on *its own* clock since it last saw the
 * record change (so clock skew between replicas does not matter). Stopping releases the Lease
 * (empty holder), so a successor takes over at its next try instead of after a lease duration.
 *
 * Writes carry the resourceVersion read (replace with a precondition): two candidates that race
 * for a free Lease cannot both win.
 */
import { LEASES, type KubeClient, type KubeObject } from '../adapters/kubernetes.js';
import { systemClock, sleep, type Clock } from './clock.js';
import { checkLeaseTimings, DEFAULT_LEASE_TIMINGS, JITTER_FACTOR } from './lease-timings.js';

/** The fields of a Lease spec that election uses. */
export interface LeaseRecord {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

/** What this candidate remembers of the Lease between tries. */
export interface Observed {
  /** The record as last read. */
  readonly record: LeaseRecord | undefined;
  /** Local time (ms) when the record was last seen to change. */
  readonly at: number;
}

/** What a try decides (pure). */
export type LeaseStep =
  | { readonly kind: 'create'; readonly record: LeaseRecord }
  | { readonly kind: 'update'; readonly record: LeaseRecord }
  /** Someone else holds a live Lease: wait. */
  | { readonly kind: 'wait'; readonly holder: string; readonly expiresInMs: number };

const micro = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');

/**
 * One try of candidate `me` at local time `now`, given the Lease as read now (`current`,
 * undefined if there is none) and what was observed before. Pure.
 */
export function leaseStep(
  me: string,
  current: LeaseRecord | undefined,
  observed: Observed,
  now: number,
  leaseDurationMs: number,
): { step: LeaseStep; observed: Observed } {
  const seconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  if (!current) {
    const record: LeaseRecord = {
      holderIdentity: me,
      leaseDurationSeconds: seconds,
      acquireTime: micro(now),
      renewTime: micro(now),
      leaseTransitions: 0,
    };
    return { step: { kind: 'create', record }, observed: { record: current, at: now } };
  }
  const changed = JSON.stringify(current) !== JSON.stringify(observed.record);
  const seen: Observed = changed ? { record: current, at: now } : observed;
  const holder = current.holderIdentity ?? '';
  const duration = (current.leaseDurationSeconds ?? seconds) * 1000;
  if (holder !== '' && holder !== me && seen.at + duration > now) {
    return { step: { kind: 'wait', holder, expiresInMs: seen.at + duration - now }, observed: seen };
  }
  const mine = holder === me;
  const record: LeaseRecord = {
    holderIdentity: me,
    leaseDurationSeconds: seconds,
    acquireTime: mine && current.acquireTime ? current.acquireTime : micro(now),
    renewTime: micro(now),
    leaseTransitions: (current.leaseTransitions ?? 0) + (mine ? 0 : 1),
  };
  return { step: { kind: 'update', record }, observed: seen };
}

/** The record that releases a Lease held by this candidate. */
export function releasedRecord(current: LeaseRecord, now: number): LeaseRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: micro(now),
    renewTime: micro(now),
    leaseTransitions: current.leaseTransitions ?? 0,
  };
}

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (pod name). */
  readonly identity: string;
  /** Whole seconds (see `lease-timings.ts` for the rules). @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
  /** Told of failed tries (they are retried; never thrown). */
  readonly onError?: (message: string) => void;
}

interface LeaseObject extends KubeObject {
  readonly spec?: LeaseRecord;
}

export class LeaderElector {
  private observed: Observed = { record: undefined, at: 0 };
  private leader = false;
  private lastRenew = 0;
  private current: LeaseObject | undefined;
  private inflight: Promise<boolean> | undefined;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly clock: Clock;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_TIMINGS.leaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_LEASE_TIMINGS.renewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_LEASE_TIMINGS.retryPeriodMs;
    const checked = checkLeaseTimings(this, {
      leaseDuration: 'leaseDurationMs',
      renewDeadline: 'renewDeadlineMs',
      retryPeriod: 'retryPeriodMs',
    });
    if (!checked.ok) throw new Error(`leader election: ${checked.error}`);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Starts trying in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops trying; a leader releases the Lease (unless `release: false`, which leaves it to
   * expire, as a crashed replica would).
   */
  async stop(opts: { readonly release?: boolean } = {}): Promise<void> {
    this.stopSignal.abort();
    await this.loop;
    if (this.leader) {
      if (opts.release !== false) await this.release();
      this.setLeader(false);
    }
  }

  /** One try to take or renew the Lease; true when this replica holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    const now = this.clock.now();
    const got = await client.get<LeaseObject>(LEASES, { namespace, name });
    if (!got.ok && got.error.kind !== 'NotFound') {
      this.opts.onError?.(got.error.message);
      return false;
    }
    const lease = got.ok ? got.value : undefined;
    const { step, observed } = leaseStep(
      identity,
      lease?.spec ?? (lease ? {} : undefined),
      this.observed,
      now,
      this.leaseDurationMs,
    );
    this.observed = observed;
    if (step.kind === 'wait') return false;
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease ? { ...lease.metadata } : { name, namespace },
      spec: step.record,
    };
    const res =
      step.kind === 'create'
        ? await client.create<LeaseObject>(LEASES, namespace, body)
        : await client.replace<LeaseObject>(LEASES, { namespace, name }, body);
    if (!res.ok) {
      if (res.error.kind !== 'Conflict') this.opts.onError?.(res.error.message);
      return false;
    }
    this.current = res.value;
    this.observed = { record: res.value.spec, at: now };
    return true;
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    if (v) this.opts.onStartedLeading?.();
    else this.opts.onStoppedLeading?.();
  }

  private async run(): Promise<void> {
    const signal = this.stopSignal.signal;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryWithinRenewDeadline();
      } catch (e) {
        this.opts.onError?.(`leader election: ${(e as Error).message}`);
      }
      if (signal.aborted) {
        // A try that finished after stop() may have taken the Lease: it is released by stop().
        if (ok) this.leader = true;
        break;
      }
      const now = this.clock.now();
      if (ok) {
        this.lastRenew = now;
        this.setLeader(true);
      } else if (this.leader && now - this.lastRenew >= this.renewDeadlineMs) {
        this.opts.onError?.(
          `could not renew Lease ${this.opts.namespace}/${this.opts.name} for ${this.renewDeadlineMs} ms: stopping to act`,
        );
        this.setLeader(false);
      }
      // Jitter the candidates' tries (client-go: JitterUntil with factor 1.2 for candidates).
      const wait = this.leader
        ? this.retryPeriodMs
        : this.retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1));
      await sleep(this.clock, wait, signal);
    }
  }

  /**
   * One try; a leader's try counts only if it ends before the renew deadline (client-go bounds the
   * renewal by a context with that timeout). A request that hangs (the apiserver waiting on a
   * stopped etcd, a network that drops packets) must not keep a replica acting past the deadline
   * while another may take the Lease over: the try is left to finish in the background, and this
   * replica stops acting until a later try renews.
   */
  private async tryWithinRenewDeadline(): Promise<boolean> {
    // One try at a time: a try still hanging from before is waited on again, never doubled.
    const attempt = (this.inflight ??= this.tryAcquireOrRenew().finally(() => (this.inflight = undefined)));
    if (!this.leader) return attempt;
    attempt.catch(() => undefined); // a late failure is reported by the next try
    let timer: unknown;
    const left = this.lastRenew + this.renewDeadlineMs - this.clock.now();
    const expired = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(() => {
        this.opts.onError?.(
          `renewing Lease ${this.opts.namespace}/${this.opts.name} took past the renew deadline (${this.renewDeadlineMs} ms)`,
        );
        resolve(false);
      }, left);
    });
    try {
      return await Promise.race([attempt, expired]);
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  private async release(): Promise<void> {
    const { client, namespace, name } = this.opts;
    const lease = this.current;
    if (!lease?.spec || lease.spec.holderIdentity !== this.opts.identity) return;
    const got = await client.get<LeaseObject>(LEASES, { namespace, name });
    if (!got.ok || got.value.spec?.holderIdentity !== this.opts.identity) return;
    const res = await client.replace(
      LEASES,
      { namespace, name },
      {
        ...got.value,
        spec: releasedRecord(got.value.spec, this.clock.now()),
      },
    );
    if (!res.ok) this.opts.onError?.(`releasing Lease ${namespace}/${name}: ${res.error.message}`);
  }
}
