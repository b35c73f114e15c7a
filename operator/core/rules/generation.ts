/**
 * Rule 2: generations. A new generation restarts a running release from the start (all traffic
 * to stable, then step 0); on a finished release it starts a new release only when the release
 * identity (service, subsets, canary revision, route) changed.
 */
import { drivenRoute, type CanaryReleaseSpec } from '../../../api/v1alpha1/canary-release.js';
import { ConditionType, Reason, isFinishedPhase } from '../../../api/v1alpha1/constants.js';
import { event, type Draft, type Pass, type Status } from '../pass.js';
import { planSteps } from '../plan.js';
import { intervalMs } from '../schedule.js';
import type { Action, Observations } from '../types.js';

/** The identity of a release: a change of any of these after it finished starts a new one. */
export function releaseKey(spec: CanaryReleaseSpec): string {
  const r = drivenRoute(spec);
  // A VirtualService keeps the key it always had, so finished releases stay finished across upgrades.
  const route = r.kind === 'VirtualService' ? `${r.name}/${r.route}` : `${r.kind}/${r.name}/${r.route}`;
  return `${spec.service}/${route}:${spec.stable.subset}->${spec.canary.subset}@${spec.canary.revision ?? ''}`;
}

/**
 * The pass of `decide` over a valid spec at `now`: the status it starts from (the stored one, or
 * a fresh release when there is none, it was Invalid, or a new generation restarts it).
 */
export function beginPass(
  spec: CanaryReleaseSpec,
  prev: Status | undefined,
  observations: Observations,
  now: Date,
  events: Action[],
): Pass {
  const nowIso = now.toISOString();
  const gen = observations.generation;
  const steps = planSteps(spec);
  const release = releaseKey(spec);
  const fresh = (): Draft => ({
    observedGeneration: gen,
    release,
    phase: 'Initializing',
    currentStep: 0,
    totalSteps: steps.length,
    canaryWeight: 0,
    stepStartedAt: nowIso,
    consecutiveFailures: 0,
    conditions: prev?.conditions,
    history: prev?.history,
    // What earlier releases scaled down stays known, so a release that needs it gives it back.
    ...(prev?.scaledDown ? { scaledDown: prev.scaledDown } : {}),
  });

  let s: Draft;
  let restarted = false;
  if (!prev || prev.phase === 'Invalid') {
    s = fresh();
    restarted = true;
  } else if (prev.observedGeneration !== gen) {
    if (isFinishedPhase(prev.phase) && prev.release === release) {
      s = { ...prev, observedGeneration: gen };
    } else {
      s = fresh();
      restarted = true;
      event(
        { events },
        'Normal',
        Reason.SpecChanged,
        `generation ${gen}: the release restarts from the beginning`,
      );
    }
  } else {
    s = { ...prev };
  }
  return {
    spec,
    steps,
    last: steps.length,
    release,
    gen,
    t: now.getTime(),
    nowIso,
    interval: intervalMs(spec),
    observations,
    route: observations.route,
    prev,
    restarted,
    s,
    actions: [],
    events,
    historyReason: restarted ? Reason.Started : Reason.Progressing,
    historyMessage: restarted ? 'the release starts' : '',
    progress: { status: 'True', reason: Reason.Progressing, message: '' },
    valid: {
      type: ConditionType.Valid,
      status: 'True',
      reason: Reason.SpecValid,
      message: 'the spec is valid and its route exists',
    },
    point: undefined,
    requeue: null,
    checkedAt: undefined,
  };
}
