/**
 * The start of a release (phase Initializing): all traffic stays on stable until the canary is
 * ready, then step 0 begins.
 */
import { Reason } from '../../../api/v1alpha1/constants.js';
import { describeStep } from '../plan.js';
import { enter, event, notify, type Pass } from '../pass.js';
import type { CanaryReadiness } from './progress-deadline.js';

/**
 * Enters step 0 once the canary is ready and no Deployment of the release is still getting its
 * replicas back (`restoring`); until then waits, with all traffic on stable.
 */
export function start(p: Pass, canary: CanaryReadiness, restoring: readonly string[] = []): void {
  const sp = p.spec;
  p.point = { at: 'start' };
  if (restoring.length > 0) {
    p.progress = {
      status: 'True',
      reason: Reason.ScaledUp,
      message: `waiting for Deployment ${restoring.join(', ')} to get back the replicas an earlier release scaled down`,
    };
    if (p.restarted) p.historyReason = Reason.Initializing;
  } else if (canary.ready) {
    enter(p, 0);
    p.historyReason = Reason.Started;
    p.historyMessage = `step 0/${p.steps.length}: ${describeStep(p.steps[0])}`;
    event(
      p,
      'Normal',
      Reason.Started,
      `release of ${sp.canary.subset}${sp.canary.revision ? ` (${sp.canary.revision})` : ''} started: ${p.historyMessage}`,
    );
    notify(p, 'Started', p.historyMessage);
  } else {
    const detail = p.observations.canary?.message;
    p.progress = {
      status: 'True',
      reason: Reason.CanaryNotReady,
      message: `waiting for canary Deployment ${sp.canary.deployment ?? ''} to be ready${detail ? ` (${detail})` : ''}`,
    };
    p.requeue = Math.min(p.interval, canary.deadline - canary.notReadyFor);
    // 'Started' is kept for the move into step 0, so a release that waits first reads
    // Initializing → Started in its history, never Started twice.
    if (p.restarted) p.historyReason = Reason.Initializing;
  }
}
