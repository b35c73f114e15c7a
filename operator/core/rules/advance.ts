/**
 * Rule 8: a step advances (one at a time, never skipping) when its own condition holds and the
 * last check in the step passed; after the last step the canary is promoted (after approval when
 * `promotion.manualApproval`). Nothing is promoted or advanced on missing data. Otherwise the
 * Progressing condition says what the step waits for.
 */
import { drivenRoute } from '../../../api/v1alpha1/canary-release.js';
import { durationMs } from '../../../api/duration.js';
import { RESUME_ANNOTATION, type Step } from '../../../api/v1alpha1/canary-release.js';
import { Reason } from '../../../api/v1alpha1/constants.js';
import { describeStep } from '../plan.js';
import { enter, event, finish, notify, resumeFor, type Pass } from '../pass.js';

/** Advances to the next step, or promotes, when `step` is done; else says what it waits for. */
export function advance(p: Pass, step: Step | undefined, canaryReady: boolean, checkDue: number): void {
  const { s, spec: sp, t, last } = p;
  p.point = { at: 'step', index: s.currentStep };
  const started = Date.parse(s.stepStartedAt);
  const passed = s.lastCheckPassed === true;
  const waitFor = (d: string | undefined) => started + (durationMs(d ?? '0s') ?? 0);
  let due = -Infinity;
  let gate = true;
  if (s.currentStep === last) gate = resumeFor(p, last);
  else if (step?.pause) {
    if (step.pause.duration) due = waitFor(step.pause.duration);
    else gate = resumeFor(p, s.currentStep);
  } else if (step?.mirror) due = waitFor(step.mirror.duration);
  else if (step?.faultTest) due = waitFor(step.faultTest.duration);
  // A timed step is judged by a check made once its time is up, so that the end of its
  // window is measured too (a fault test's delayed requests show up late): a check just
  // before the end, with the next one a moment after it, does not stand for the rest.
  const lastCheck = p.checkedAt ?? (s.lastCheckAt ? Date.parse(s.lastCheckAt) : -Infinity);
  const checkedToEnd = lastCheck >= due;
  if (canaryReady && passed && gate && t >= due && checkedToEnd) {
    const from = s.currentStep;
    if (from + 1 < last || (from + 1 === last && sp.promotion.manualApproval)) {
      enter(p, from + 1);
      p.historyReason = Reason.StepAdvanced;
      p.historyMessage =
        from + 1 === last
          ? `all ${last} steps passed; waiting for approval to promote (resume step ${last})`
          : `step ${from + 1}/${last}: ${describeStep(p.steps[from + 1])}`;
      notify(p, 'StepAdvanced', p.historyMessage);
      // A step that runs by itself is recorded in the status (its history, `kubectl describe`),
      // written with its route: an Event too would make each step 3 API writes. A step that
      // waits for someone to resume it is an Event, since that is where a user acts.
      if (s.phase === 'Paused') {
        event(p, 'Normal', Reason.StepAdvanced, p.historyMessage);
        notify(p, 'WaitingForApproval', `waiting at step ${s.currentStep}: resume it to continue`);
      }
    } else {
      finish(
        p,
        'Succeeded',
        Reason.Promoted,
        `all ${last} steps passed; ${sp.canary.subset} takes all traffic of route ${drivenRoute(sp).route}`,
      );
    }
    return;
  }
  const waits: string[] = [];
  if (!canaryReady)
    waits.push(
      `canary Deployment ${sp.canary.deployment ?? ''} to be ready (rolls back after ${sp.progressDeadline})`,
    );
  if (!gate)
    waits.push(
      `approval: resume step ${s.currentStep} (annotation ${RESUME_ANNOTATION}=${p.gen}/${s.currentStep})`,
    );
  if (t < due) waits.push(`the step's duration to end at ${new Date(due).toISOString()}`);
  else if (passed && !checkedToEnd)
    waits.push(`a check after the step's end, at ${new Date(Math.max(checkDue, t)).toISOString()}`);
  if (!passed) {
    waits.push(
      s.lastCheckPassed === false && s.missingDataSince
        ? `data for the analysis (missing since ${s.missingDataSince}, policy ${sp.analysis.missingData.policy})`
        : s.lastCheckPassed === false
          ? `a passing check (${s.consecutiveFailures}/${sp.analysis.threshold} failed)`
          : `the first check of this step at ${new Date(checkDue > t ? checkDue : t).toISOString()}`,
    );
  }
  p.progress = {
    status: 'True',
    reason: !canaryReady
      ? Reason.CanaryNotReady
      : !gate
        ? Reason.WaitingForApproval
        : s.missingDataSince
          ? Reason.MissingData
          : Reason.WaitingForAnalysis,
    message: `step ${s.currentStep}/${last} (${describeStep(step)}): waiting for ${waits.join(', ')}`,
  };
}
