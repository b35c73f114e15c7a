/**
 * A release's chart before the dashboard saw it: the success rate and p99 of its canary over the
 * release's window, read from Prometheus with range queries of the same templates the operator's
 * checks run (`QUERY_TEMPLATES`, the canary's workload, the analysis interval as the rate window,
 * the destination proxy's report), one point per analysis interval at most, and never more than
 * `maxPoints` points or `maxRangeMs` back. The weights come from the release's history: each point
 * carries the canary weight of the last decision before it.
 */
import { durationMs } from '../../api/duration.js';
import {
  parseSpec,
  protocolOf,
  type CanaryReleaseStatus,
  type HistoryEntry,
} from '../../api/v1alpha1/canary-release.js';
import { Reason, isTerminalPhase } from '../../api/v1alpha1/constants.js';
import {
  renderQuery,
  type PrometheusProvider,
  type QueryVars,
  type RangeSample,
  type RangeWindow,
} from '../../operator/adapters/prometheus.js';
import type { CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { workloadOf } from '../../operator/runtime/analysis-metrics.js';
import type { ChartPoint } from './server.js';

/** Bounds of one history read. */
export interface HistoryBounds {
  /** Most points per series. @default 120 */
  readonly maxPoints?: number;
  /** How far back it reads at most, ms. @default 6 hours */
  readonly maxRangeMs?: number;
}

/** The two queries and the window of one release's history, or why there is none. */
export type HistoryPlan =
  | {
      readonly ok: true;
      readonly successRate: string;
      readonly p99: string;
      readonly window: RangeWindow;
      readonly history: readonly HistoryEntry[];
    }
  | { readonly ok: false; readonly reason: string };

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** When the current release started: its last `Started` decision, else its first recorded one, else the object's creation. */
function startOf(obj: CanaryReleaseObject, history: readonly HistoryEntry[]): number | undefined {
  const started = history.filter((h) => h.reason === Reason.Started).at(-1) ?? history[0];
  const t = Date.parse(started?.time ?? obj.metadata.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : undefined;
}

/** Plans the history read of `obj` at `now` (pure). */
export function planHistory(obj: CanaryReleaseObject, now: Date, bounds: HistoryBounds = {}): HistoryPlan {
  const ref = `CanaryRelease ${obj.metadata.namespace}/${obj.metadata.name}`;
  const parsed = parseSpec(obj.spec);
  if (!parsed.ok) return { ok: false, reason: `${ref}: the spec is not valid` };
  const spec = parsed.spec;
  const status = (obj.status ?? {}) as Partial<CanaryReleaseStatus>;
  const history = status.history ?? [];
  const intervalMs = durationMs(spec.analysis.interval);
  if (intervalMs === undefined)
    return { ok: false, reason: `${ref}: .spec.analysis.interval is not a duration` };
  const maxPoints = bounds.maxPoints ?? 120;
  const maxRangeMs = bounds.maxRangeMs ?? 6 * 3600_000;
  const begun = startOf(obj, history);
  if (begun === undefined) return { ok: false, reason: `${ref}: no start time` };
  const last = history.at(-1);
  const end =
    status.phase && isTerminalPhase(status.phase) && last
      ? Math.min(now.getTime(), Date.parse(last.time))
      : now.getTime();
  const start = Math.max(begun, end - maxRangeMs);
  if (!(end > start)) return { ok: false, reason: `${ref}: the release has no past yet` };
  const stepS = Math.max(seconds(intervalMs), Math.ceil((end - start) / 1000 / (maxPoints - 1)));
  const vars: QueryVars = {
    namespace: obj.metadata.namespace ?? '',
    workload: workloadOf(spec, 'canary'),
    interval: spec.analysis.interval,
    reporter: 'destination',
  };
  const rate = renderQuery(
    'istio',
    protocolOf(spec) === 'grpc' ? 'grpc-request-success-rate' : 'request-success-rate',
    vars,
  );
  const p99 = renderQuery('istio', 'request-duration', vars);
  if (!rate.ok) return { ok: false, reason: `${ref}: ${rate.error.message}` };
  if (!p99.ok) return { ok: false, reason: `${ref}: ${p99.error.message}` };
  return {
    ok: true,
    successRate: rate.value,
    p99: p99.value,
    window: { start: new Date(start), end: new Date(end), stepS },
    history,
  };
}

/** The canary weight at `t` (ms): the last decision at or before it, 0 before the first. */
function weightAt(history: readonly HistoryEntry[], t: number): number {
  let w = 0;
  for (const h of history) {
    if (Date.parse(h.time) > t) break;
    w = h.canaryWeight;
  }
  return w;
}

/** Joins the two series by time into chart points, oldest first (pure). */
export function historyPoints(
  successRate: readonly RangeSample[],
  p99: readonly RangeSample[],
  history: readonly HistoryEntry[],
): ChartPoint[] {
  const byT = new Map<number, { successRate?: number; p99Ms?: number }>();
  for (const [t, v] of successRate) byT.set(t, { ...byT.get(t), successRate: v });
  for (const [t, v] of p99) byT.set(t, { ...byT.get(t), p99Ms: v });
  return [...byT.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, v]) => ({
      t: new Date(t * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      ...v,
      canaryWeight: weightAt(history, t * 1000),
      source: 'prometheus' as const,
    }));
}

/** Reads the history of `obj` from `prometheus`: its points, or a message saying what failed. */
export async function readHistory(
  prometheus: Pick<PrometheusProvider, 'rangeQuery'>,
  obj: CanaryReleaseObject,
  now: Date,
  bounds: HistoryBounds = {},
): Promise<{ ok: true; points: ChartPoint[] } | { ok: false; message: string }> {
  const plan = planHistory(obj, now, bounds);
  if (!plan.ok) return { ok: true, points: [] };
  const [rate, p99] = await Promise.all([
    prometheus.rangeQuery(plan.successRate, plan.window),
    prometheus.rangeQuery(plan.p99, plan.window),
  ]);
  const failed = !rate.ok ? rate.error : !p99.ok ? p99.error : undefined;
  if (failed)
    return {
      ok: false,
      message: `the history of CanaryRelease ${obj.metadata.namespace}/${obj.metadata.name} could not be read (${failed.kind}: ${failed.message}); its chart starts now`,
    };
  return {
    ok: true,
    points: historyPoints(rate.ok ? rate.value : [], p99.ok ? p99.value : [], plan.history),
  };
}
