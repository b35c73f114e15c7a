/**
 * Reading the stored status and writing the next one: conditions (kept in Valid, Progressing,
 * Healthy order, with a transition time that moves only when the status does), the bounded
 * decision history, and the last step of every pass, which turns a {@link Pass} into a
 * {@link Decision}.
 */
import { isDeepStrictEqual } from 'node:util';
import { CanaryReleaseStatus, HISTORY_LIMIT, type Condition } from '../../api/v1alpha1/canary-release.js';
import { CONDITION_TYPES, ConditionType, Reason } from '../../api/v1alpha1/constants.js';
import { describeIssues, withReceived } from '../../api/zod-issues.js';
import { describeStep } from './plan.js';
import { event, type Draft, type EventSink, type Pass, type Status } from './pass.js';
import type { Decision } from './types.js';

/** Whether `next`, stored as JSON, equals the stored status `previous` (so writing it changes nothing). */
export function sameStatus(previous: unknown, next: CanaryReleaseStatus): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(previous ?? null)), JSON.parse(JSON.stringify(next)));
}

/** `list` with condition `c` set; its transition time moves only when its status changes. */
export function setCondition(
  list: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  nowIso: string,
): Condition[] {
  const old = list?.find((x) => x.type === c.type);
  const next: Condition = {
    type: c.type,
    status: c.status,
    observedGeneration: c.observedGeneration,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
    reason: c.reason,
    message: c.message,
  };
  const rest = (list ?? []).filter((x) => x.type !== c.type);
  const order = (type: string) => (CONDITION_TYPES as readonly string[]).indexOf(type);
  return [...rest, next].sort((a, b) => order(a.type) - order(b.type));
}

/** The condition `type` of a stored status. */
export function conditionOf(status: Status | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** `next` with a history entry added when the phase or step changed (or `force`), the oldest dropped. */
export function withHistory(
  prev: Status | undefined,
  next: Draft,
  reason: string,
  message: string,
  force: boolean,
): Draft {
  const changed = force || !prev || prev.phase !== next.phase || prev.currentStep !== next.currentStep;
  if (!changed) return next;
  const entry = {
    time: next.stepStartedAt,
    phase: next.phase,
    step: next.currentStep,
    canaryWeight: next.canaryWeight,
    reason,
    message: message.slice(0, 1024),
  };
  next.history = [...(next.history ?? []), entry].slice(-HISTORY_LIMIT);
  return next;
}

/**
 * The stored status, or undefined when there is none or it does not parse; a status that does
 * not parse is reset, with a Warning Event that names the first problem.
 */
export function readStatus(status: unknown, sink: EventSink): Status | undefined {
  if (status === undefined || status === null) return undefined;
  const p = CanaryReleaseStatus.safeParse(status);
  if (p.success) return p.data;
  const first = describeIssues(p.error.issues, status, '.status')[0];
  event(
    sink,
    'Warning',
    Reason.StatusReset,
    `the status does not parse (${first ? `${first.field}: ${withReceived(first)}` : '.status'}); the release restarts from the beginning with all traffic on stable`,
  );
  return undefined;
}

/** The Healthy condition: from the last check of the step, or as it was before any check. */
function healthy(p: Pass): Omit<Condition, 'lastTransitionTime'> {
  const { s, prev, gen } = p;
  const was = conditionOf(prev, ConditionType.Healthy);
  if (s.lastCheckPassed === undefined) {
    return {
      type: ConditionType.Healthy,
      status: was?.status ?? 'Unknown',
      observedGeneration: gen,
      reason: was?.reason ?? Reason.NoCheckYet,
      message: was?.message ?? 'no analysis check has run yet',
    };
  }
  if (s.lastCheckPassed) {
    return {
      type: ConditionType.Healthy,
      status: 'True',
      observedGeneration: gen,
      reason: Reason.ChecksPassing,
      message: 'the last check passed',
    };
  }
  return {
    type: ConditionType.Healthy,
    status: 'False',
    observedGeneration: gen,
    reason: s.missingDataSince ? Reason.MissingData : Reason.ChecksFailing,
    message:
      (s.lastMeasurements ?? [])
        .filter((m) => m.result !== 'Pass')
        .map((m) => m.message ?? m.result)
        .join('; ')
        .slice(0, 1024) || 'the last check did not pass',
  };
}

/** The decision of a pass: conditions, message and history written into the status. */
export function conclude(p: Pass): Decision {
  const { s, gen, nowIso } = p;
  if (!p.progress.message) {
    p.progress = {
      ...p.progress,
      message: `step ${s.currentStep}/${p.last} (${describeStep(p.steps[s.currentStep])})`,
    };
  }
  let conditions = setCondition(s.conditions, { ...p.valid, observedGeneration: gen }, nowIso);
  conditions = setCondition(
    conditions,
    { type: ConditionType.Progressing, observedGeneration: gen, ...p.progress },
    nowIso,
  );
  conditions = setCondition(conditions, healthy(p), nowIso);
  s.conditions = conditions;
  s.message = p.progress.message.slice(0, 1024);
  s.observedGeneration = gen;
  s.totalSteps = p.steps.length;
  s.release = p.release;
  const next = withHistory(
    p.prev,
    s,
    p.historyReason,
    p.historyMessage || p.progress.message,
    p.restarted && !!p.prev,
  );
  return {
    status: CanaryReleaseStatus.parse(next),
    actions: [...p.actions, ...p.events],
    requeueAfter: p.requeue,
  };
}
