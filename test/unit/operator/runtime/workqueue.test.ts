/**
 * The work queue on a manual clock: per-key serialization, coalescing of bursts, requeueAfter
 * (the handler's word replaces older timers; addAfter keeps the earliest), backoff on failure,
 * pause/resume for leadership, and shutdown waiting for runs under way.
 */
import { WorkQueue, type HandlerResult } from '../../../../operator/runtime/workqueue.js';
import { FakeClock, settle } from './fake-clock.js';

/** A handler whose runs the test finishes by hand. */
function gatedHandler() {
  const runs: string[] = [];
  const open: { key: string; finish: (r?: HandlerResult | Error) => void }[] = [];
  let concurrent = 0;
  let maxConcurrentPerKey = 0;
  const active = new Map<string, number>();
  const handler = (key: string) =>
    new Promise<HandlerResult>((resolve, reject) => {
      runs.push(key);
      concurrent++;
      active.set(key, (active.get(key) ?? 0) + 1);
      maxConcurrentPerKey = Math.max(maxConcurrentPerKey, active.get(key)!);
      open.push({
        key,
        finish: (r) => {
          concurrent--;
          active.set(key, active.get(key)! - 1);
          if (r instanceof Error) reject(r);
          else resolve(r ?? {});
        },
      });
    });
  return {
    handler,
    runs,
    open,
    get concurrent() {
      return concurrent;
    },
    get maxConcurrentPerKey() {
      return maxConcurrentPerKey;
    },
    async finishAll(r?: HandlerResult | Error) {
      for (const o of open.splice(0)) o.finish(r);
      await settle();
    },
  };
}

describe('WorkQueue', () => {
  test('coalesces a burst of adds for one key into one run, plus one more for adds during the run', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock, concurrency: 4 });
    for (let i = 0; i < 100; i++) q.add('ns/a');
    await settle();
    expect(h.runs).toStrictEqual(['ns/a']);
    for (let i = 0; i < 50; i++) q.add('ns/a'); // during the run
    await settle();
    expect(h.runs).toStrictEqual(['ns/a']);
    await h.finishAll();
    expect(h.runs).toStrictEqual(['ns/a', 'ns/a']);
    await h.finishAll();
    expect(h.runs).toHaveLength(2);
    expect(h.maxConcurrentPerKey).toBe(1);
  });

  test('runs different keys in parallel up to the concurrency, and one key never twice at once', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock, concurrency: 2 });
    ['a', 'b', 'c', 'a'].forEach((k) => q.add(k));
    await settle();
    expect(h.runs).toStrictEqual(['a', 'b']);
    expect(q.length).toBe(1); // c waits; the second a coalesced with the running one
    await h.finishAll();
    expect(h.runs.slice(2).sort()).toStrictEqual(['a', 'c']);
    await h.finishAll();
    expect(h.maxConcurrentPerKey).toBe(1);
  });

  test('honours requeueAfter, and the newest requeueAfter replaces an older timer', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock });
    q.add('k');
    await settle();
    await h.finishAll({ requeueAfter: 10_000 });
    expect(q.scheduled.get('k')).toBe(clock.now() + 10_000);
    q.add('k'); // an event: runs now
    await settle();
    await h.finishAll({ requeueAfter: 2_000 }); // the newest decision: 2 s
    await clock.advance(1_999);
    expect(h.runs).toHaveLength(2);
    await clock.advance(1);
    expect(h.runs).toHaveLength(3);
    await h.finishAll({ requeueAfter: null }); // nothing due: no timer left
    expect(q.scheduled.size).toBe(0);
    await clock.advance(60_000);
    expect(h.runs).toHaveLength(3);
  });

  test('addAfter keeps the earliest of several times', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock });
    q.addAfter('k', 5_000);
    q.addAfter('k', 9_000);
    q.addAfter('k', 3_000);
    await clock.advance(2_999);
    expect(h.runs).toHaveLength(0);
    await clock.advance(1);
    expect(h.runs).toStrictEqual(['k']);
    await h.finishAll();
    await clock.advance(10_000);
    expect(h.runs).toHaveLength(1);
  });

  test('retries a failed run with exponential backoff, reset by a success', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const retries: number[] = [];
    const q = new WorkQueue(h.handler, {
      clock,
      baseBackoffMs: 100,
      maxBackoffMs: 1_000,
      onError: (_k, _e, ms) => retries.push(ms),
    });
    q.add('k');
    await settle();
    for (let i = 0; i < 6; i++) {
      await h.finishAll(new Error('apiserver unavailable'));
      await clock.advance(retries[retries.length - 1]!);
    }
    expect(retries).toStrictEqual([100, 200, 400, 800, 1_000, 1_000]);
    await h.finishAll({});
    q.add('k');
    await settle();
    await h.finishAll(new Error('again'));
    expect(retries[retries.length - 1]).toBe(100);
  });

  test('paused (not leading): keeps keys but runs none until resumed', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock });
    q.pause();
    q.add('a');
    q.add('b');
    await clock.advance(1_000);
    expect(h.runs).toHaveLength(0);
    expect(q.length).toBe(2);
    q.resume();
    await settle();
    expect(h.runs).toStrictEqual(['a', 'b']);
  });

  test('shutdown waits for runs under way and then takes no more work', async () => {
    const clock = new FakeClock();
    const h = gatedHandler();
    const q = new WorkQueue(h.handler, { clock });
    q.add('a');
    q.addAfter('b', 1_000);
    await settle();
    let stopped = false;
    const done = q.shutdown(30_000).then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    await h.finishAll({ requeueAfter: 10 });
    await done;
    expect(stopped).toBe(true);
    q.add('c');
    await clock.advance(5_000);
    expect(h.runs).toStrictEqual(['a']);
  });
});
