/**
 * Rule 7: weights that differ from what the operator set (and from the step before or after,
 * which a crash between the route write and the status write leaves) are drift, handled by
 * `driftPolicy`: RollBack rolls back, Reapply writes them back, Hold holds until the weights are
 * restored or the step is resumed (which writes them back). Weights are written back at most
 * DRIFT_WRITE_BACK_LIMIT times per release: a writer that keeps changing them gets a hold, not a tug
 * of war.
 */
import { DRIFT_WRITE_BACK_LIMIT } from '../../../api/v1alpha1/canary-release.js';
import { ConditionType, Reason } from '../../../api/v1alpha1/constants.js';
import { weightAt } from '../plan.js';
import { event, finish, resumeFor, type Pass } from '../pass.js';
import { conditionOf } from '../status.js';
import type { RouteObservation } from '../types.js';

/** Canary weight the operator may have written at point `i` of the plan. */
function weightOf(p: Pass, i: number): number {
  if (i < 0) return 0;
  if (i < p.last) return weightAt(p.steps, i);
  return i === p.last && p.spec.promotion.manualApproval ? weightAt(p.steps, p.last) : 100;
}

/** Judges the route's weights: no drift, written back, held, or rolled back. */
export function judgeDrift(
  p: Pass,
  route: RouteObservation & { found: true },
): 'None' | 'Reapplied' | 'Held' | 'RolledBack' {
  const { s, spec: sp } = p;
  const tolerated = [
    weightOf(p, s.currentStep - 1),
    weightOf(p, s.currentStep),
    weightOf(p, s.currentStep + 1),
  ];
  const drifted =
    !p.restarted &&
    !(
      Number.isInteger(route.canaryWeight) &&
      route.stableWeight === 100 - route.canaryWeight &&
      tolerated.includes(route.canaryWeight)
    );
  if (!drifted) return 'None';
  const seen = `the route's weights are stable ${route.stableWeight} / canary ${route.canaryWeight}, expected ${100 - s.canaryWeight} / ${s.canaryWeight}`;
  const policy = resumeFor(p, s.currentStep) && sp.driftPolicy === 'Hold' ? 'Reapply' : sp.driftPolicy;
  if (policy === 'RollBack') {
    finish(
      p,
      'RolledBack',
      Reason.WeightsDrifted,
      `${seen} (driftPolicy RollBack); all traffic goes to stable ${sp.stable.subset}`,
    );
    return 'RolledBack';
  }
  const writtenBack = s.weightsWrittenBack ?? 0;
  if (policy === 'Reapply' && writtenBack >= DRIFT_WRITE_BACK_LIMIT) {
    // Someone keeps changing them: writing back again would be a tug of war. Hold, as Hold does.
    const msg = `${seen}: someone else keeps changing the VirtualService (written back ${writtenBack} times in this release). Holding instead of writing them back again: stop the other writer, then restore the weights`;
    p.progress = { status: 'False', reason: Reason.WeightsDrifted, message: msg };
    if (conditionOf(p.prev, ConditionType.Progressing)?.reason !== Reason.WeightsDrifted)
      event(p, 'Warning', Reason.WeightsDrifted, msg);
    return 'Held';
  }
  if (policy === 'Reapply') {
    s.weightsWrittenBack = writtenBack + 1;
    event(
      p,
      'Warning',
      Reason.WeightsDrifted,
      `${seen}; writing them back (driftPolicy ${sp.driftPolicy === 'Hold' ? 'Hold, resumed' : 'Reapply'})`,
    );
    return 'Reapplied';
  }
  const msg = `${seen}: someone else changed the VirtualService. Holding (driftPolicy Hold): restore the weights, or resume step ${s.currentStep} to write them back`;
  p.progress = { status: 'False', reason: Reason.WeightsDrifted, message: msg };
  if (conditionOf(p.prev, ConditionType.Progressing)?.reason !== Reason.WeightsDrifted)
    event(p, 'Warning', Reason.WeightsDrifted, msg);
  return 'Held';
}
