/** Rule 3: the abort annotation of this generation rolls back at once. */
import { Reason } from '../../../api/v1alpha1/constants.js';
import { describeStep } from '../plan.js';
import { finish, type Pass } from '../pass.js';

/** Whether the abort annotation names this generation. */
export function abortRequested(p: Pass): boolean {
  return p.observations.commands?.abort?.generation === p.gen;
}

/** Rolls the release back because it was aborted. */
export function abort(p: Pass): void {
  finish(
    p,
    'RolledBack',
    Reason.Aborted,
    `aborted by annotation at step ${p.s.currentStep} (${describeStep(p.steps[p.s.currentStep])}); all traffic goes to stable ${p.spec.stable.subset}`,
  );
}
