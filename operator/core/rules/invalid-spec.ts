/**
 * Rule 1: an invalid spec is never acted on. Phase Invalid, condition `Valid=False` naming the
 * fields and the fix, one Warning Event per generation, no route action.
 */
import { CanaryReleaseStatus, type SpecProblem } from '../../../api/v1alpha1/canary-release.js';
import { ConditionType, Reason } from '../../../api/v1alpha1/constants.js';
import type { Draft, Status } from '../pass.js';
import { setCondition, withHistory } from '../status.js';
import type { Action, Decision } from '../types.js';

function problemsMessage(problems: readonly SpecProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

/** The decision for an invalid spec: nothing is acted on; the condition names the fields and the fix. */
export function invalidSpec(
  prev: Status | undefined,
  problems: readonly SpecProblem[],
  gen: number,
  nowIso: string,
): Decision {
  const message =
    `the spec is invalid and is not acted on until it is fixed: ${problemsMessage(problems)}`.slice(0, 1024);
  let conditions = setCondition(
    prev?.conditions,
    {
      type: ConditionType.Valid,
      status: 'False',
      observedGeneration: gen,
      reason: Reason.InvalidSpec,
      message,
    },
    nowIso,
  );
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Progressing,
      status: 'False',
      observedGeneration: gen,
      reason: Reason.InvalidSpec,
      message: 'waiting for a valid spec',
    },
    nowIso,
  );
  const base: Draft = prev
    ? { ...prev }
    : {
        observedGeneration: gen,
        release: '',
        phase: 'Invalid',
        currentStep: 0,
        totalSteps: 0,
        canaryWeight: 0,
        stepStartedAt: nowIso,
        consecutiveFailures: 0,
      };
  const next = withHistory(
    prev,
    { ...base, observedGeneration: gen, phase: 'Invalid', message, conditions },
    Reason.InvalidSpec,
    message,
    false,
  );
  const already = prev?.phase === 'Invalid' && prev.observedGeneration === gen;
  const actions: Action[] = already
    ? []
    : [{ type: 'EmitEvent', eventType: 'Warning', reason: Reason.InvalidSpec, message }];
  return { status: CanaryReleaseStatus.parse(next), actions, requeueAfter: null };
}
