/**
 * A work queue of resource keys (`namespace/name`), like client-go's rate-limited delaying queue:
 * - one key is processed by at most one worker at a time (work on a release is serialized);
 * - adding a key that is already waiting does nothing, and adding one that is being processed
 *   marks it to run once more afterwards: a burst of events becomes at most one extra run;
 * - `addAfter` holds a key until a time (the earliest asked for wins), and the handler's
 *   `requeueAfter` sets the key's next run (it replaces any timer, since it is the newest word),
 *   clamped to [minRequeueMs, maxRequeueMs]: never a busy loop, never a timer Node would overflow;
 * - a handler that fails is retried with a per-key exponential backoff, reset by a success;
 * - `pause` stops handing out keys (a replica that is not the leader keeps its queue but acts on
 *   nothing); `shutdown` stops, waiting for the runs under way.
 */
import { systemClock, type Clock } from './clock.js';

/** Node's setTimeout fires at once for longer delays (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What one run of the handler asks for next. */
export interface HandlerResult {
  /** Run the key again after this many ms; `null`/`undefined`: only when an event adds it. */
  readonly requeueAfter?: number | null;
}

export type Handler = (key: string) => Promise<HandlerResult>;

export interface WorkQueueOptions {
  /** Keys processed at the same time (different keys only). @default 4 */
  readonly concurrency?: number;
  /** First retry delay after a failure. @default 500 */
  readonly baseBackoffMs?: number;
  /** Longest retry delay. @default 60000 */
  readonly maxBackoffMs?: number;
  /** Shortest requeue a handler gets, whatever it asks (a 0 ms loop would hammer Prometheus). @default 250 */
  readonly minRequeueMs?: number;
  /** Longest timer set for a key (a handler re-arms it when it runs); Node's timers cap at 2^31-1 ms. @default 3600000 */
  readonly maxRequeueMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Told of every failed run (the queue itself never throws). */
  readonly onError?: (key: string, error: unknown, retryInMs: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly minRequeueMs: number;
  private readonly maxRequeueMs: number;
  private paused = false;
  private stopped = false;
  /** Runs finished, for metrics and tests. */
  runs = 0;

  constructor(
    private readonly handler: Handler,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.baseBackoffMs = opts.baseBackoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 60_000;
    this.minRequeueMs = Math.max(0, opts.minRequeueMs ?? 250);
    this.maxRequeueMs = Math.min(MAX_TIMER_MS, Math.max(this.minRequeueMs, opts.maxRequeueMs ?? 3_600_000));
  }

  /** A handler's requeue within [minRequeueMs, maxRequeueMs]; a value that is not a number waits the longest. */
  private clampRequeue(ms: number): number {
    return Number.isFinite(ms)
      ? Math.min(this.maxRequeueMs, Math.max(this.minRequeueMs, ms))
      : this.maxRequeueMs;
  }

  /** Keys waiting to run now. */
  get length(): number {
    return this.queue.length;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.processing.size;
  }

  /** Keys with a timer, and when each is due. */
  get scheduled(): ReadonlyMap<string, number> {
    return new Map([...this.timers].map(([k, v]) => [k, v.at]));
  }

  /** Runs `key` as soon as a worker is free (coalesced with a waiting or running one). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Runs `key` after `ms`, unless it already has an earlier timer. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const t = this.timers.get(key);
    if (t && t.at <= at) return;
    this.setTimer(key, at);
  }

  /** Stops handing out keys; runs under way finish. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Stops everything; resolves when the runs under way have finished (or after `timeoutMs`). */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.clock.clearTimer(t.handle);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    let handle: unknown;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((r) => (handle = this.clock.setTimer(r, timeoutMs))),
    ]);
    this.clock.clearTimer(handle);
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  async drained(timeoutMs = 10_000): Promise<boolean> {
    const until = this.clock.now() + timeoutMs;
    while (this.queue.length > 0 || this.processing.size > 0) {
      if (this.clock.now() > until) return false;
      await Promise.race([...this.inFlight, new Promise((r) => setTimeout(r, 5))]);
    }
    return true;
  }

  private setTimer(key: string, at: number): void {
    const old = this.timers.get(key);
    if (old) this.clock.clearTimer(old.handle);
    const handle = this.clock.setTimer(
      () => {
        if (this.timers.get(key)?.handle !== handle) return;
        this.timers.delete(key);
        this.add(key);
      },
      Math.min(this.maxRequeueMs, Math.max(0, at - this.clock.now())),
    );
    this.timers.set(key, { at, handle });
  }

  private pump(): void {
    while (
      !this.paused &&
      !this.stopped &&
      this.processing.size < this.concurrency &&
      this.queue.length > 0
    ) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      const run = this.run(key);
      this.inFlight.add(run);
      void run.finally(() => {
        this.inFlight.delete(run);
        this.pump();
      });
    }
  }

  private async run(key: string): Promise<void> {
    let result: HandlerResult | undefined;
    let failed = false;
    let error: unknown;
    try {
      result = await this.handler(key);
    } catch (e) {
      failed = true;
      error = e;
    }
    this.runs++;
    this.processing.delete(key);
    if (this.stopped) return;
    if (failed) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (n - 1));
      this.opts.onError?.(key, error, delay);
      this.setTimer(key, this.clock.now() + delay);
    } else {
      this.failures.delete(key);
      const after = result?.requeueAfter;
      if (after === null || after === undefined) {
        const t = this.timers.get(key);
        if (t) {
          this.clock.clearTimer(t.handle);
          this.timers.delete(key);
        }
      } else {
        this.setTimer(key, this.clock.now() + this.clampRequeue(after));
      }
    }
    if (this.dirty.delete(key)) this.add(key);
  }
}
