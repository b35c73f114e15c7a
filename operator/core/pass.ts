/**
 * One pass of `decide` over a valid spec: what it read, the next status it builds, and the verbs
 * the rules share (record an Event, notify the webhooks, enter a step, finish the release). The
 * rules in `rules/` each read and change one {@link Pass}; `decide` runs them in order.
 */
import type {
  CanaryReleaseSpec,
  CanaryReleaseStatus,
  Condition,
  Step,
  WebhookEvent,
} from '../../api/v1alpha1/canary-release.js';
import type { FinishedPhase, Reason } from '../../api/v1alpha1/constants.js';
import { weightAt, type Point } from './plan.js';
import type { Action, Observations, RouteObservation } from './types.js';

/** The status as stored. */
export type Status = CanaryReleaseStatus;
/** The next status while the rules build it. */
export type Draft = { -readonly [K in keyof Status]: Status[K] };
/** The Progressing condition being built. */
export type Progress = { status: Condition['status']; reason: string; message: string };
/** The Valid condition being built. */
export type ValidCondition = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/** Where Events and notifications are collected (they follow the route and outcome actions). */
export interface EventSink {
  readonly events: Action[];
}

/** One pass of `decide` over a valid spec. */
export interface Pass extends EventSink {
  readonly spec: CanaryReleaseSpec;
  /** The plan (the short form expanded). */
  readonly steps: readonly Step[];
  /** Index of the promotion point: the number of steps. */
  readonly last: number;
  /** The release identity (`releaseKey`). */
  readonly release: string;
  /** `metadata.generation` of the CanaryRelease. */
  readonly gen: number;
  /** `now` in milliseconds, and as an ISO timestamp. */
  readonly t: number;
  readonly nowIso: string;
  /** `analysis.interval` in milliseconds. */
  readonly interval: number;
  readonly observations: Observations;
  readonly route: RouteObservation;
  /** The stored status, when it parsed. */
  readonly prev: Status | undefined;
  /** Whether this pass starts the release from the beginning. */
  readonly restarted: boolean;
  /** The next status. */
  readonly s: Draft;
  /** Route, promotion and rollback actions, in order. */
  readonly actions: Action[];
  historyReason: string;
  historyMessage: string;
  progress: Progress;
  valid: ValidCondition;
  /** The routes to converge to; undefined: touch nothing. */
  point: Point | undefined;
  requeue: number | null;
  /** When this pass ran an analysis check (its `t`); the stored `lastCheckAt` may be older. */
  checkedAt: number | undefined;
}

/** Records a Kubernetes Event (the message cut to the API's 1 kB). */
export function event(p: EventSink, eventType: 'Normal' | 'Warning', reason: string, message: string): void {
  p.events.push({ type: 'EmitEvent', eventType, reason, message: message.slice(0, 1024) });
}

/** Notifies every webhook that subscribed to `ev`. */
export function notify(p: Pass, ev: WebhookEvent, message: string): void {
  for (const w of p.spec.webhooks ?? []) {
    if (w.events && !w.events.includes(ev)) continue;
    p.events.push({
      type: 'Notify',
      webhook: w.name,
      url: w.url,
      event: ev,
      message: message.slice(0, 1024),
      step: p.s.currentStep,
      canaryWeight: p.s.canaryWeight,
    });
  }
}

/** Whether the resume annotation resumes `step` of this generation. */
export function resumeFor(p: Pass, step: number): boolean {
  const resume = p.observations.commands?.resume;
  return resume?.generation === p.gen && resume.step === step;
}

/** Enters step `index` now (the promotion point when `index` is the number of steps). */
export function enter(p: Pass, index: number): void {
  const { s, steps } = p;
  s.currentStep = index;
  s.stepStartedAt = p.nowIso;
  delete s.lastCheckAt;
  delete s.lastCheckPassed;
  s.canaryWeight = weightAt(steps, index);
  const manual = index === p.last || !!(steps[index]?.pause && !steps[index]!.pause!.duration);
  s.phase = manual ? 'Paused' : 'Progressing';
  p.point = { at: 'step', index };
}

/** Ends the release: promoted (all traffic to the canary) or rolled back (all to stable). */
export function finish(p: Pass, phase: FinishedPhase, reason: Reason, message: string): void {
  const { s, spec: sp } = p;
  const reached = s.currentStep;
  s.phase = phase;
  s.stepStartedAt = p.nowIso;
  s.routesSettled = false;
  delete s.weightsWrittenBack;
  delete s.lastCheckAt;
  delete s.lastCheckPassed;
  delete s.missingDataSince;
  delete s.canaryNotReadySince;
  p.historyReason = reason;
  p.historyMessage = message;
  p.progress = { status: 'False', reason, message };
  if (phase === 'Succeeded') {
    s.canaryWeight = 100;
    s.currentStep = p.last;
    p.point = { at: 'promoted' };
    p.actions.push({
      type: 'Promote',
      stableSubset: sp.stable.subset,
      canarySubset: sp.canary.subset,
      ...(sp.canary.revision ? { revision: sp.canary.revision } : {}),
    });
    event(p, 'Normal', reason, message);
    notify(p, 'Promoted', message);
  } else {
    s.canaryWeight = 0;
    p.point = {
      at: 'rolledBack',
      index: Math.min(reached, p.last - 1),
      keepHeaderRoutes: sp.rollback.keepHeaderRoutes,
    };
    p.actions.push({ type: 'RollBack', reason, message });
    event(p, 'Warning', reason, message);
    notify(p, 'RolledBack', message);
  }
  p.requeue = p.interval;
}
