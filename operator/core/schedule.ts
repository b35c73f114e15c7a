/**
 * When things are due: the next analysis check of a step, whether the runtime should fetch
 * metrics for a pass, and how long until anything can change the decision of a running release.
 */
import { durationMs } from '../../api/duration.js';
import type { CanaryReleaseSpec } from '../../api/v1alpha1/canary-release.js';
import type { Draft } from './pass.js';
import { planSteps } from './plan.js';

/** The analysis interval of `spec` in milliseconds. */
export function intervalMs(spec: CanaryReleaseSpec): number {
  return durationMs(spec.analysis.interval) ?? 60_000;
}

/** When the next analysis check of the current step is due: one interval after the step began or the last check. */
export function checkDueAt(s: { stepStartedAt: string; lastCheckAt?: string }, interval: number): number {
  return (
    Math.max(Date.parse(s.stepStartedAt), s.lastCheckAt ? Date.parse(s.lastCheckAt) : -Infinity) + interval
  );
}

/**
 * Whether `decide` may run an analysis check at `now` on this stored status, so the runtime
 * queries Prometheus only then. It errs towards true: decide also needs a ready canary, a
 * command may start a new step first (which moves the check later), and a status it cannot read
 * counts as due; so a check never runs on metrics that were not fetched.
 */
export function analysisDue(spec: CanaryReleaseSpec, status: unknown, now: Date): boolean {
  const s = status as { stepStartedAt?: unknown; lastCheckAt?: unknown } | undefined;
  if (typeof s?.stepStartedAt !== 'string' || Number.isNaN(Date.parse(s.stepStartedAt))) return true;
  const last = s.lastCheckAt;
  if (last !== undefined && (typeof last !== 'string' || Number.isNaN(Date.parse(last)))) return true;
  const due = checkDueAt(
    { stepStartedAt: s.stepStartedAt, ...(last ? { lastCheckAt: last } : {}) },
    intervalMs(spec),
  );
  return now.getTime() >= due;
}

/** Milliseconds until the next thing that can change the decision of a running release. */
export function nextDue(s: Draft, sp: CanaryReleaseSpec, t: number, interval: number): number {
  const steps = planSteps(sp);
  const started = Date.parse(s.stepStartedAt);
  const check = checkDueAt(s, interval);
  // A check that was due but skipped (canary not ready) is retried an interval later.
  const at = [check > t ? check : t + interval];
  const step = steps[s.currentStep];
  const d = step?.pause?.duration ?? step?.mirror?.duration ?? step?.faultTest?.duration;
  if (d) at.push(started + (durationMs(d) ?? 0));
  if (s.canaryNotReadySince)
    at.push(Date.parse(s.canaryNotReadySince) + (durationMs(sp.progressDeadline) ?? 0));
  const md = sp.analysis.missingData.deadline;
  if (s.missingDataSince && md) at.push(Date.parse(s.missingDataSince) + (durationMs(md) ?? 0));
  const future = at.filter((x) => x > t);
  return future.length > 0 ? Math.min(...future) - t : interval;
}
