/**
 * Rule 5: a canary Deployment not ready for longer than `progressDeadline` rolls back. Tracks
 * since when the canary has not been ready (a spec without a canary Deployment counts as ready).
 */
import { durationMs } from '../../../api/duration.js';
import { Reason } from '../../../api/v1alpha1/constants.js';
import { finish, type Pass } from '../pass.js';

/** The canary's readiness at this pass, and how long it has not been ready. */
export interface CanaryReadiness {
  readonly ready: boolean;
  /** `progressDeadline` in milliseconds. */
  readonly deadline: number;
  /** Milliseconds since the canary was last ready; 0 when it is. */
  readonly notReadyFor: number;
}

/** Reads the canary's readiness and records since when it has not been ready. */
export function trackReadiness(p: Pass): CanaryReadiness {
  const { s } = p;
  const ready = p.observations.canary?.ready ?? true;
  if (ready) delete s.canaryNotReadySince;
  else s.canaryNotReadySince ??= p.nowIso;
  const deadline = durationMs(p.spec.progressDeadline) ?? 600_000;
  const notReadyFor = s.canaryNotReadySince ? p.t - Date.parse(s.canaryNotReadySince) : 0;
  return { ready, deadline, notReadyFor };
}

/** Whether the canary has not been ready for `progressDeadline`. */
export function deadlineExceeded(c: CanaryReadiness): boolean {
  return !c.ready && c.notReadyFor >= c.deadline;
}

/** Rolls back because the canary was not ready in time. */
export function rollBackAtDeadline(p: Pass): void {
  const sp = p.spec;
  const detail = p.observations.canary?.message;
  finish(
    p,
    'RolledBack',
    Reason.ProgressDeadlineExceeded,
    `canary Deployment ${sp.canary.deployment ?? ''} has not been ready for ${sp.progressDeadline} (progressDeadline)${detail ? `: ${detail}` : ''}; all traffic goes to stable ${sp.stable.subset}`,
  );
}
