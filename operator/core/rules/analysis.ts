/**
 * Rule 6: an analysis check runs once per interval; `threshold` failed checks in a row roll back
 * at once, in any step including manual gates. Missing data follows `analysis.missingData`:
 * it counts as a failure under `Fail`, after its deadline under `FailAfterDeadline`, never under
 * `Hold` (and nothing advances on it either way).
 */
import { isDeepStrictEqual } from 'node:util';
import { durationMs } from '../../../api/duration.js';
import type { Step } from '../../../api/v1alpha1/canary-release.js';
import { Reason } from '../../../api/v1alpha1/constants.js';
import { runCheck } from '../analysis.js';
import { describeStep } from '../plan.js';
import { event, finish, type Pass } from '../pass.js';

/**
 * What a check records besides its time. A check that records the same as the last one written in
 * this step keeps the stored `lastCheckAt`, so a release that waits (on missing data, on a gate)
 * costs no status write per interval; the next check is scheduled from the step's start (see
 * `nextDue`), and re-running an unwritten check gives the same result, so a restart is safe.
 */
function recorded(s: Pass['s'] | NonNullable<Pass['prev']>): unknown[] {
  return [s.lastCheckPassed, s.lastMeasurements, s.successRate, s.consecutiveFailures, s.missingDataSince];
}

/** Runs the check that is due in `step` and records it; rolls back at the threshold. */
export function analyse(p: Pass, step: Step | undefined): 'Checked' | 'RolledBack' {
  const r = runAnalysis(p, step);
  const { s, prev } = p;
  const sameStep =
    prev?.lastCheckAt !== undefined &&
    prev.currentStep === s.currentStep &&
    prev.stepStartedAt === s.stepStartedAt &&
    prev.phase === s.phase;
  if (r === 'Checked' && sameStep && isDeepStrictEqual(recorded(prev), recorded(s)))
    s.lastCheckAt = prev.lastCheckAt;
  return r;
}

function runAnalysis(p: Pass, step: Step | undefined): 'Checked' | 'RolledBack' {
  const { s, spec: sp, t, nowIso } = p;
  const check = runCheck(sp.analysis, step, p.observations.metrics);
  s.lastCheckAt = nowIso;
  p.checkedAt = t;
  s.lastMeasurements = [...check.measurements];
  if (check.successRate !== undefined) s.successRate = check.successRate;
  if (check.outcome === 'Pass') {
    s.consecutiveFailures = 0;
    s.lastCheckPassed = true;
    delete s.missingDataSince;
    return 'Checked';
  }
  s.lastCheckPassed = false;
  let counts = check.outcome === 'Fail';
  if (check.outcome === 'Missing') {
    s.missingDataSince ??= nowIso;
    const md = sp.analysis.missingData;
    counts =
      md.policy === 'Fail' ||
      (md.policy === 'FailAfterDeadline' &&
        t - Date.parse(s.missingDataSince) >= (durationMs(md.deadline ?? '0s') ?? 0));
  } else {
    delete s.missingDataSince;
  }
  if (!counts) return 'Checked';
  const why = check.measurements
    .filter((m) => m.result !== 'Pass')
    .map((m) => m.message ?? `${m.name}: ${m.result}`)
    .join('; ');
  s.consecutiveFailures += 1;
  const n = `${s.consecutiveFailures}/${sp.analysis.threshold}`;
  if (s.consecutiveFailures >= sp.analysis.threshold) {
    finish(
      p,
      'RolledBack',
      Reason.AnalysisFailed,
      `check failed ${n} times in a row at step ${s.currentStep} (${describeStep(step)}): ${why}; all traffic goes to stable ${sp.stable.subset}`,
    );
    return 'RolledBack';
  }
  event(p, 'Warning', Reason.CheckFailed, `check failed (${n}) at step ${s.currentStep}: ${why}`);
  return 'Checked';
}
