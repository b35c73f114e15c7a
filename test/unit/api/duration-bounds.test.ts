/**
 * Every CanaryRelease duration is bounded to what the operator can honour (at most 720h; an
 * analysis interval from 1s to 24h), in zod and in the CRD's CEL rules alike, and the work queue
 * clamps every requeue: the regression cases of `2400000000h`, `0s` and `600h`.
 */
import { MAX_DURATION, parseSpec, type CanaryReleaseSpecInput } from '../../../api/v1alpha1/index.js';
import { canaryReleaseCrdYaml } from '../../../api/v1alpha1/crd.js';
import { MAX_TIMER_MS, WorkQueue } from '../../../operator/runtime/workqueue.js';
import { FakeClock, settle } from '../operator/runtime/fake-clock.js';

const base: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }],
};

function problems(spec: unknown): string[] {
  const r = parseSpec(spec);
  return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
}

describe('duration bounds in the schema', () => {
  const pausedFor = (duration: string) => ({ ...base, steps: [{ setWeight: 10 }, { pause: { duration } }] });
  test.each([
    { field: 'steps[1].pause.duration', spec: pausedFor('2400000000h'), got: '2400000000h' },
    {
      field: 'analysis.interval',
      spec: { ...base, analysis: { interval: '2400000000h' } },
      got: '2400000000h',
    },
    { field: 'progressDeadline', spec: { ...base, progressDeadline: '721h' }, got: '721h' },
  ])('fails if $field is past 720h ($got)', ({ field, spec, got }) => {
    expect(problems(spec)).toEqual([
      `.spec.${field}: must be at most 720h (30 days): use a shorter duration (received "${got}")`,
    ]);
  });

  test.each(['0s', '999ms', '600h', '25h'])(
    'fails if analysis.interval is %s (outside 1s to 24h)',
    (interval) => {
      expect(problems({ ...base, analysis: { interval } })).toEqual([
        `.spec.analysis.interval: must be from 1s to 24h: the operator queries Prometheus once per interval (received "${interval}")`,
      ]);
    },
  );

  test.each(['1s', '24h', '1h30m'])('analysis.interval %s is accepted', (interval) => {
    expect(problems({ ...base, analysis: { interval } })).toEqual([]);
  });

  test(`a pause of ${MAX_DURATION} is accepted; the runtime clamps the timer it asks for`, () => {
    expect(problems({ ...base, steps: [{ setWeight: 10 }, { pause: { duration: '600h' } }] })).toEqual([]);
  });

  test('the CRD carries the same bounds as CEL rules for the apiserver', () => {
    const crd = canaryReleaseCrdYaml();
    expect(crd).toContain("rule: duration(self) <= duration('720h')");
    expect(crd).toContain("rule: duration(self) >= duration('1s') && duration(self) <= duration('24h')");
  });
});

describe('requeue clamps in the work queue', () => {
  test.each([
    [0, 250],
    [-5, 250],
    [Number.NaN, 3_600_000],
    [600 * 3_600_000, 3_600_000], // 600h: Node would overflow it to 1 ms
    [2_400_000_000 * 3_600_000, 3_600_000],
    [30_000, 30_000],
  ])('requeueAfter %d runs the key again after %d ms', async (asked, after) => {
    const clock = new FakeClock();
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        runs++;
        return { requeueAfter: asked };
      },
      { clock },
    );
    q.add('k');
    await settle();
    expect(runs).toBe(1);
    await clock.advance(after - 1);
    expect(runs).toBe(1);
    await clock.advance(1);
    expect(runs).toBe(2);
  });

  test("no timer is ever longer than Node's limit", () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    const asked: number[] = [];
    const clock = new (class extends FakeClock {
      override setTimer(fn: () => void, ms: number): unknown {
        asked.push(ms);
        return super.setTimer(fn, ms);
      }
    })();
    const q = new WorkQueue(async () => ({}), { clock, maxRequeueMs: 10 * MAX_TIMER_MS });
    q.addAfter('k', 10 * MAX_TIMER_MS);
    expect(asked).toEqual([MAX_TIMER_MS]);
  });
});
