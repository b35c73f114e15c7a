/**
 * A release chart's past from Prometheus (cli/dashboard/history.ts): the window and the queries
 * are planned from the release alone (the operator's own query templates, bounded in range and
 * points), the two range answers become chart points carrying the weight of their time, and past
 * points merge with the checks already held without doubling a time or losing a check.
 */
import { planHistory, historyPoints, readHistory } from '../../../cli/dashboard/history.js';
import { growSeries, mergeSeries, type ChartPoint } from '../../../cli/dashboard/server.js';
import type { ReleaseView } from '../../../cli/release/view.js';
import type { HistoryEntry } from '../../../api/v1alpha1/canary-release.js';
import { renderQuery, type RangeWindow } from '../../../operator/adapters/prometheus.js';
import type { CanaryReleaseObject } from '../../../operator/adapters/kubernetes.js';

const spec = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { setWeight: 50 }],
  analysis: { interval: '10s', threshold: 2, successRate: { min: 99 }, latencyP99: { max: '500ms' } },
};

const history: HistoryEntry[] = [
  {
    time: '2026-01-01T00:00:00Z',
    phase: 'Progressing',
    step: 0,
    canaryWeight: 10,
    reason: 'Started',
    message: 'm',
  },
  {
    time: '2026-01-01T00:01:00Z',
    phase: 'Progressing',
    step: 1,
    canaryWeight: 50,
    reason: 'StepAdvanced',
    message: 'm',
  },
];

function release(status?: Record<string, unknown>, s: Record<string, unknown> = spec): CanaryReleaseObject {
  return {
    apiVersion: 'delivery.cdk8s-mesh.io/v1alpha1',
    kind: 'CanaryRelease',
    metadata: { namespace: 'shop', name: 'reviews', creationTimestamp: '2025-12-31T23:59:00Z' },
    spec: s,
    ...(status ? { status } : {}),
  } as unknown as CanaryReleaseObject;
}

const vars = { namespace: 'shop', workload: 'reviews-v3', interval: '10s', reporter: 'destination' as const };
const op = (r: ReturnType<typeof renderQuery>) => (r.ok ? r.value : 'unrendered');

describe('planHistory', () => {
  test("reads from the release's start to now with the operator's queries for the canary, one point per interval", () => {
    const p = planHistory(release({ phase: 'Progressing', history }), new Date('2026-01-01T00:02:00Z'));
    expect(p).toEqual({
      ok: true,
      successRate: op(renderQuery('istio', 'request-success-rate', vars)),
      p99: op(renderQuery('istio', 'request-duration', vars)),
      window: { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-01T00:02:00Z'), stepS: 10 },
      history,
    });
  });

  test('a long release is read with a coarser step, and never further back than the bound', () => {
    const p = planHistory(release({ phase: 'Progressing', history }), new Date('2026-01-02T00:00:00Z'), {
      maxPoints: 100,
      maxRangeMs: 3600_000,
    });
    if (!p.ok) throw new Error(p.reason);
    expect(p.window).toEqual({
      start: new Date('2026-01-01T23:00:00Z'),
      end: new Date('2026-01-02T00:00:00Z'),
      stepS: 37, // ceil(3600 / 99): at most 100 points
    });
  });

  test("a finished release is read up to its last decision; without a status from the object's creation", () => {
    const done = planHistory(
      release({
        phase: 'Succeeded',
        history: [...history, { ...history[1]!, time: '2026-01-01T00:03:00Z', phase: 'Succeeded' }],
      }),
      new Date('2026-01-05T00:00:00Z'),
    );
    expect(done.ok && done.window.end).toEqual(new Date('2026-01-01T00:03:00Z'));
    const pending = planHistory(release(), new Date('2026-01-01T00:00:00Z'));
    expect(pending.ok && pending.window.start).toEqual(new Date('2025-12-31T23:59:00Z'));
  });

  test('a gRPC release reads the gRPC success rate', () => {
    const p = planHistory(
      release({ phase: 'Progressing', history }, { ...spec, protocol: 'grpc' }),
      new Date('2026-01-01T00:02:00Z'),
    );
    expect(p.ok && p.successRate).toBe(op(renderQuery('istio', 'grpc-request-success-rate', vars)));
  });

  test('fails if the spec is not valid, naming the release', () => {
    expect(planHistory(release(undefined, { service: 'reviews' }), new Date())).toEqual({
      ok: false,
      reason: 'CanaryRelease shop/reviews: the spec is not valid',
    });
  });
});

describe('historyPoints and readHistory', () => {
  const t = (iso: string) => Date.parse(iso) / 1000;

  test('joins the two series by time, each point with the canary weight of its time', () => {
    expect(
      historyPoints(
        [
          [t('2026-01-01T00:00:30Z'), 100],
          [t('2026-01-01T00:01:30Z'), 98.5],
        ],
        [
          [t('2026-01-01T00:00:30Z'), 12],
          [t('2026-01-01T00:01:40Z'), 20],
        ],
        history,
      ),
    ).toEqual([
      { t: '2026-01-01T00:00:30Z', successRate: 100, p99Ms: 12, canaryWeight: 10, source: 'prometheus' },
      { t: '2026-01-01T00:01:30Z', successRate: 98.5, canaryWeight: 50, source: 'prometheus' },
      { t: '2026-01-01T00:01:40Z', p99Ms: 20, canaryWeight: 50, source: 'prometheus' },
    ]);
  });

  test('sends both queries over the planned window; a failed query is a message naming the release', async () => {
    const asked: [string, RangeWindow][] = [];
    const points = await readHistory(
      {
        rangeQuery: (q: string, w: RangeWindow) => {
          asked.push([q, w]);
          return Promise.resolve({ ok: true as const, value: [[t('2026-01-01T00:00:10Z'), 99] as const] });
        },
      },
      release({ phase: 'Progressing', history }),
      new Date('2026-01-01T00:02:00Z'),
    );
    expect(asked.map(([q]) => q)).toEqual([
      op(renderQuery('istio', 'request-success-rate', vars)),
      op(renderQuery('istio', 'request-duration', vars)),
    ]);
    expect(points).toEqual({
      ok: true,
      points: [
        { t: '2026-01-01T00:00:10Z', successRate: 99, p99Ms: 99, canaryWeight: 10, source: 'prometheus' },
      ],
    });
    const failed = await readHistory(
      {
        rangeQuery: () =>
          Promise.resolve({
            ok: false as const,
            error: { kind: 'unavailable' as const, message: 'refused' },
          }),
      },
      release({ phase: 'Progressing', history }),
      new Date('2026-01-01T00:02:00Z'),
    );
    expect(failed).toEqual({
      ok: false,
      message:
        'the history of CanaryRelease shop/reviews could not be read (unavailable: refused); its chart starts now',
    });
  });
});

describe('mergeSeries', () => {
  const p = (t: string, source: ChartPoint['source'], successRate: number): ChartPoint => ({
    t: `2026-01-01T00:00:${t}Z`,
    successRate,
    canaryWeight: 10,
    source,
  });

  test('orders by time, keeps one point per time and prefers the check, and keeps the newest max', () => {
    const merged = mergeSeries(
      [p('20', 'check', 99), p('40', 'check', 97)],
      [p('10', 'prometheus', 100), p('20', 'prometheus', 1), p('30', 'prometheus', 98)],
    );
    expect(merged.map((x) => [x.t.slice(17, 19), x.source, x.successRate])).toEqual([
      ['10', 'prometheus', 100],
      ['20', 'check', 99],
      ['30', 'prometheus', 98],
      ['40', 'check', 97],
    ]);
    expect(mergeSeries(merged, [], 2).map((x) => x.successRate)).toEqual([98, 97]);
  });

  test('a check older than the past read from Prometheus is inserted in time order, once', () => {
    const view = {
      namespace: 'shop',
      name: 'reviews',
      lastCheckAt: '2026-01-01T00:00:25Z',
      successRate: 96,
      canary: { weight: 10 },
    } as unknown as ReleaseView;
    const held = { 'shop/reviews': [p('20', 'prometheus', 100), p('30', 'prometheus', 99)] };
    const once = growSeries(held, [view]);
    expect(growSeries(once, [view])['shop/reviews']!.map((x) => [x.t.slice(17, 19), x.source])).toEqual([
      ['20', 'prometheus'],
      ['25', 'check'],
      ['30', 'prometheus'],
    ]);
  });
});
