/**
 * Turns the analysis of a release into Prometheus queries and their answers into the metric
 * observations `decide` reads: the built-in checks under SUCCESS_RATE and LATENCY_P99 (from the
 * provider's `request-success-rate` and `request-duration`), custom metrics under their names,
 * and the provider's `no-data` as NoData, every other failure as QueryFailed.
 */
import { planSteps, type MetricObservation, type MetricValue } from '../core/index.js';
import { protocolOf, type CanaryReleaseSpec } from '../../api/v1alpha1/canary-release.js';
import { LATENCY_P99, SUCCESS_RATE } from '../../api/v1alpha1/constants.js';
import type { MetricResult } from '../adapters/prometheus.js';
import type { AnalysisMetrics } from './ports.js';

/** The provider's answer as a {@link MetricValue}. */
export function metricValue(r: MetricResult): MetricValue {
  if (r.ok) return { kind: 'Value', value: r.value };
  if (r.error.kind === 'no-data') return { kind: 'NoData' };
  return { kind: 'QueryFailed', error: `${r.error.kind}: ${r.error.message}` };
}

/** Short name of a service host: `reviews.shop.svc.cluster.local` → `reviews`. */
export function serviceName(host: string): string {
  return host.split('.')[0]!;
}

/** The workload (Deployment) name Istio's metrics carry for a version. */
export function workloadOf(spec: CanaryReleaseSpec, which: 'stable' | 'canary'): string {
  const v = spec[which];
  return v.deployment ?? `${serviceName(spec.service)}-${v.subset}`;
}

/** Fills `{{namespace}}`, `{{service}}`, `{{subset}}` (the canary's) and `{{interval}}` in a custom query. */
export function renderCustomQuery(query: string, spec: CanaryReleaseSpec, namespace: string): string {
  const values: Record<string, string> = {
    namespace,
    service: serviceName(spec.service),
    subset: spec.canary.subset,
    interval: spec.analysis.interval,
  };
  return query.replace(/\{\{\s*(namespace|service|subset|interval)\s*\}\}/g, (_m, k: string) => values[k]!);
}

/**
 * Queries what the analysis of step `stepIndex` reads. During a fault test the caller's proxy's
 * report (`reporter="source"`) is read, since an injected fault happens there and the
 * destination never sees it; otherwise the destination's, as Flagger does.
 */
export async function observeMetrics(
  provider: AnalysisMetrics,
  spec: CanaryReleaseSpec,
  namespace: string,
  stepIndex: number,
): Promise<Record<string, MetricObservation>> {
  const step = planSteps(spec)[stepIndex];
  const ft = step?.faultTest;
  const a = spec.analysis;
  const wantRate = ft
    ? !!ft.successRate
    : !!a.successRate || a.compareToStable?.maxSuccessRateDrop !== undefined;
  const wantLatency = ft
    ? !!ft.latencyP99
    : !!a.latencyP99 || a.compareToStable?.maxLatencyIncrease !== undefined;
  const wantStable = !ft && a.compareToStable !== undefined;
  const base = {
    namespace,
    interval: a.interval,
    reporter: ft ? ('source' as const) : ('destination' as const),
  };
  // gRPC errors answer HTTP 200: on a gRPC service the success rate counts grpc_response_status too.
  const successRate = protocolOf(spec) === 'grpc' ? 'grpc-request-success-rate' : 'request-success-rate';
  const canary = { ...base, workload: workloadOf(spec, 'canary') };
  const stable = { ...base, workload: workloadOf(spec, 'stable') };

  const jobs: Promise<void>[] = [];
  const out: Record<string, { canary?: MetricValue; stable?: MetricValue }> = {};
  const put = (name: string, side: 'canary' | 'stable', p: Promise<MetricResult>) =>
    jobs.push(p.then((r) => void ((out[name] ??= {})[side] = metricValue(r))));
  if (wantRate) {
    put(SUCCESS_RATE, 'canary', provider.builtin(successRate, canary));
    if (wantStable) put(SUCCESS_RATE, 'stable', provider.builtin(successRate, stable));
  }
  if (wantLatency) {
    put(LATENCY_P99, 'canary', provider.builtin('request-duration', canary));
    if (wantStable) put(LATENCY_P99, 'stable', provider.builtin('request-duration', stable));
  }
  for (const m of a.metrics ?? [])
    put(m.name, 'canary', provider.query(renderCustomQuery(m.query, spec, namespace)));
  await Promise.all(jobs);
  const result: Record<string, MetricObservation> = {};
  for (const [name, v] of Object.entries(out)) {
    result[name] = { canary: v.canary ?? { kind: 'NoData' }, ...(v.stable ? { stable: v.stable } : {}) };
  }
  return result;
}
