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

/**
 * When the next analysis check of the current step is due: the first multiple of the interval
 * from the step's start after the last check (or the first one, with no check yet). Checks keep
 * to this grid, so a late reconcile does not push every later check back.
 */
export function checkDueAt(s: { stepStartedAt: string; lastCheckAt?: string }, interval: number): number {
  const start = Date.parse(s.stepStartedAt);
  return s.lastCheckAt ? nextOnGrid(start, Date.parse(s.lastCheckAt), interval) : start + interval;
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

/** The first `start + n × interval` (n ≥ 1) after `t`. */
export function nextOnGrid(start: number, t: number, interval: number): number {
  if (!(interval > 0) || !Number.isFinite(start)) return t + interval;
  return start + (Math.max(0, Math.floor((t - start) / interval)) + 1) * interval;
}

/** Milliseconds until the next thing that can change the decision of a running release. */
export function nextDue(s: Draft, sp: CanaryReleaseSpec, t: number, interval: number): number {
  const steps = planSteps(sp);
  const started = Date.parse(s.stepStartedAt);
  const check = checkDueAt(s, interval);
  // A check that was due but not run (canary not ready), or run but not written because it found
  // the same as the last one, is next due at the next multiple of the interval from the step's
  // start: derived, so waiting costs no write and the checks do not drift later.
  const at = [check > t ? check : nextOnGrid(started, t, interval)];
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
