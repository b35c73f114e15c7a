/**
 * One analysis check: the SLOs and metrics that apply to a step, measured from the observations.
 */
import { durationMs } from '../../api/duration.js';
import type { Analysis, Measurement, Step } from '../../api/v1alpha1/canary-release.js';
import { LATENCY_P99, SUCCESS_RATE } from '../../api/v1alpha1/constants.js';
import type { MetricObservation, MetricValue } from './types.js';

/** Outcome of a check: every measurement passed, one failed, or none failed but some had no data. */
export type CheckOutcome = 'Pass' | 'Fail' | 'Missing';

/** The measurements of one check and their outcome. */
export interface CheckResult {
  readonly outcome: CheckOutcome;
  readonly measurements: readonly Measurement[];
  /** The canary's success rate, when measured. */
  readonly successRate: number | undefined;
}

type Reading = { ok: true; value: number } | { ok: false; result: 'NoData' | 'QueryFailed'; message: string };

function read(v: MetricValue | undefined, what: string): Reading {
  if (!v || v.kind === 'NoData') return { ok: false, result: 'NoData', message: `${what}: no data` };
  if (v.kind === 'QueryFailed')
    return { ok: false, result: 'QueryFailed', message: `${what}: query failed: ${v.error}` };
  if (!Number.isFinite(v.value))
    return { ok: false, result: 'NoData', message: `${what}: no data (${v.value})` };
  return { ok: true, value: v.value };
}

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/** Measures `step`'s checks: a fault test's own SLOs replace the analysis' built-in ones. */
export function runCheck(
  analysis: Analysis,
  step: Step | undefined,
  metrics: Readonly<Record<string, MetricObservation>>,
): CheckResult {
  const ft = step?.faultTest;
  const successRate = ft ? ft.successRate : analysis.successRate;
  const latency = ft ? ft.latencyP99 : analysis.latencyP99;
  const compare = ft ? undefined : analysis.compareToStable;
  const out: Measurement[] = [];
  let canaryRate: number | undefined;

  const measure = (
    name: string,
    canary: Reading,
    pass: (v: number) => boolean,
    failure: (v: number) => string,
    stable?: Reading,
  ) => {
    if (!canary.ok) return out.push({ name, result: canary.result, message: canary.message });
    if (stable && !stable.ok) {
      return out.push({ name, result: stable.result, value: canary.value, message: stable.message });
    }
    const stableValue = stable?.ok ? { stableValue: stable.value } : {};
    if (pass(canary.value)) return out.push({ name, result: 'Pass', value: canary.value, ...stableValue });
    return out.push({
      name,
      result: 'Fail',
      value: canary.value,
      ...stableValue,
      message: failure(canary.value),
    });
  };

  const rate = metrics[SUCCESS_RATE];
  const p99 = metrics[LATENCY_P99];
  if (successRate) {
    const r = read(rate?.canary, 'canary success rate');
    if (r.ok) canaryRate = r.value;
    measure(
      SUCCESS_RATE,
      r,
      (v) => v >= successRate.min,
      (v) => `canary success rate ${fmt(v)}% is below the minimum ${successRate.min}%`,
    );
  }
  if (latency) {
    const max = durationMs(latency.max) ?? 0;
    measure(
      LATENCY_P99,
      read(p99?.canary, 'canary p99 latency'),
      (v) => v <= max,
      (v) => `canary p99 latency ${fmt(v)}ms is above the maximum ${latency.max}`,
    );
  }
  if (compare?.maxSuccessRateDrop !== undefined) {
    const maxDrop = compare.maxSuccessRateDrop;
    const c = read(rate?.canary, 'canary success rate');
    const s = read(rate?.stable, 'stable success rate');
    if (c.ok) canaryRate = c.value;
    measure(
      `${SUCCESS_RATE}-vs-stable`,
      c,
      (v) => s.ok && s.value - v <= maxDrop,
      (v) =>
        `canary success rate ${fmt(v)}% is more than ${maxDrop} points below stable's ${s.ok ? fmt(s.value) : '?'}%`,
      s,
    );
  }
  if (compare?.maxLatencyIncrease !== undefined) {
    const pct = compare.maxLatencyIncrease;
    const s = read(p99?.stable, 'stable p99 latency');
    measure(
      `${LATENCY_P99}-vs-stable`,
      read(p99?.canary, 'canary p99 latency'),
      (v) => s.ok && v <= s.value * (1 + pct / 100),
      (v) =>
        `canary p99 latency ${fmt(v)}ms is more than ${pct}% above stable's ${s.ok ? fmt(s.value) : '?'}ms`,
      s,
    );
  }
  for (const m of analysis.metrics ?? []) {
    measure(
      m.name,
      read(metrics[m.name]?.canary, m.name),
      (v) => (m.min === undefined || v >= m.min) && (m.max === undefined || v <= m.max),
      (v) =>
        m.min !== undefined && v < m.min
          ? `${m.name} is ${fmt(v)}, below the minimum ${m.min}`
          : `${m.name} is ${fmt(v)}, above the maximum ${m.max}`,
    );
  }
  const outcome: CheckOutcome = out.some((m) => m.result === 'Fail')
    ? 'Fail'
    : out.some((m) => m.result !== 'Pass')
      ? 'Missing'
      : 'Pass';
  return { outcome, measurements: out, successRate: canaryRate };
}
