/**
 * The words of a CanaryRelease's status that the operator writes and the CLI, the tests and users
 * read: phase sets, condition types, condition / history / Event reasons and the names of the
 * built-in checks. One definition each; every other folder imports them.
 */
import type { Phase } from './canary-release.js';

// ---------------------------------------------------------------------------------------------
// Phase sets
// ---------------------------------------------------------------------------------------------

/**
 * Phases of a release that reached its outcome: the operator only settles its final routes, and
 * a new generation with the same release identity does not restart it.
 */
export const FINISHED_PHASES = ['Succeeded', 'RolledBack'] as const satisfies readonly Phase[];
/** One of {@link FINISHED_PHASES}. */
export type FinishedPhase = (typeof FINISHED_PHASES)[number];

/**
 * Phases the operator never leaves by itself, only on a spec change: the finished ones and
 * Invalid. What `status --watch` waits for, and where promote/resume/abort have nothing to do.
 */
export const TERMINAL_PHASES = [...FINISHED_PHASES, 'Invalid'] as const satisfies readonly Phase[];
/** One of {@link TERMINAL_PHASES}. */
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];

/** Phases of a release under way at a step: analysis runs, and the operator requeues on its own. */
export const RUNNING_PHASES = ['Progressing', 'Paused'] as const satisfies readonly Phase[];
/** One of {@link RUNNING_PHASES}. */
export type RunningPhase = (typeof RUNNING_PHASES)[number];

const among =
  <P extends string>(set: readonly P[]) =>
  (phase: string | undefined): phase is P =>
    (set as readonly (string | undefined)[]).includes(phase);

/** Whether `phase` is one of {@link FINISHED_PHASES}. */
export const isFinishedPhase = among(FINISHED_PHASES);
/** Whether `phase` is one of {@link TERMINAL_PHASES}. */
export const isTerminalPhase = among(TERMINAL_PHASES);
/** Whether `phase` is one of {@link RUNNING_PHASES}. */
export const isRunningPhase = among(RUNNING_PHASES);

// ---------------------------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------------------------

/** The condition types of `.status.conditions`, in the order they are listed. */
export const ConditionType = {
  /** The spec parses and its route exists. */
  Valid: 'Valid',
  /** The release is moving (True) or held / finished (False), with what it waits for. */
  Progressing: 'Progressing',
  /** The last analysis check passed. */
  Healthy: 'Healthy',
} as const;
/** One of the {@link ConditionType} values. */
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];
/** The condition types in list order. */
export const CONDITION_TYPES: readonly ConditionType[] = Object.values(ConditionType);

// ---------------------------------------------------------------------------------------------
// Reasons
// ---------------------------------------------------------------------------------------------

/**
 * The CamelCase reasons the operator writes into conditions, history entries and Events. Where
 * each appears is noted; a finished release with no earlier Progressing condition also uses its
 * phase (`Succeeded`, `RolledBack`) as the reason.
 */
export const Reason = {
  /** Valid=True. */
  SpecValid: 'SpecValid',
  /** The spec does not parse: Valid and Progressing False, history, Warning Event. */
  InvalidSpec: 'InvalidSpec',
  /** The VirtualService does not exist: Valid and Progressing False, Warning Event. */
  VirtualServiceNotFound: 'VirtualServiceNotFound',
  /** The HTTPRoute does not exist: Valid and Progressing False, Warning Event. */
  HTTPRouteNotFound: 'HTTPRouteNotFound',
  /** The GRPCRoute does not exist: Valid and Progressing False, Warning Event. */
  GRPCRouteNotFound: 'GRPCRouteNotFound',
  /** The VirtualService (HTTPRoute, GRPCRoute) has no route (rule) of the spec's name: Valid and Progressing False, Warning Event. */
  RouteNotFound: 'RouteNotFound',
  /** The stored status did not parse and was reset: Warning Event. */
  StatusReset: 'StatusReset',
  /** A new generation restarted a running release: Event. */
  SpecChanged: 'SpecChanged',
  /** A release waits for its canary before step 0: history. */
  Initializing: 'Initializing',
  /** A release started (or moved into step 0): history, Event. */
  Started: 'Started',
  /** Progressing=True while nothing waits; the history reason of an unnamed change. */
  Progressing: 'Progressing',
  /** A step passed and the next one began: history, Event. */
  StepAdvanced: 'StepAdvanced',
  /** The canary Deployment is not ready: Progressing=True. */
  CanaryNotReady: 'CanaryNotReady',
  /** A manual gate or the promotion approval waits for resume: Progressing=True. */
  WaitingForApproval: 'WaitingForApproval',
  /** The step waits for a passing check: Progressing=True. */
  WaitingForAnalysis: 'WaitingForAnalysis',
  /** Checks have no data: Progressing=True, Healthy=False. */
  MissingData: 'MissingData',
  /** One check failed below the threshold: Warning Event. */
  CheckFailed: 'CheckFailed',
  /** Healthy before any check ran. */
  NoCheckYet: 'NoCheckYet',
  /** Healthy=True. */
  ChecksPassing: 'ChecksPassing',
  /** Healthy=False. */
  ChecksFailing: 'ChecksFailing',
  /** Someone else changed the route's weights: Progressing=False (Hold), Warning Event, or a rollback. */
  WeightsDrifted: 'WeightsDrifted',
  /** The canary took all traffic: Progressing=False, history, Event. */
  Promoted: 'Promoted',
  /** Rolled back: the abort annotation. */
  Aborted: 'Aborted',
  /** Rolled back: `threshold` failed checks in a row. */
  AnalysisFailed: 'AnalysisFailed',
  /** Rolled back: the canary was not ready for `progressDeadline`. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** The VirtualService write failed; the status was left as it was: Warning Event. */
  RouteUpdateFailed: 'RouteUpdateFailed',
  /** The losing version's Deployment was scaled to 0 after the release ended: Event. */
  ScaledDown: 'ScaledDown',
  /** The losing version's scale-down waits: a route of the VirtualService still sends it traffic: Event. */
  ScaleDownHeld: 'ScaleDownHeld',
  /** A Deployment scaled down by an earlier release got its replicas back for this one: Event. */
  ScaledUp: 'ScaledUp',
  /** A fault test's fault applies to the whole route, stable's share included: Warning Event. */
  FaultOnWholeRoute: 'FaultOnWholeRoute',
} as const;
/** One of the {@link Reason} values. */
export type Reason = (typeof Reason)[keyof typeof Reason];

// ---------------------------------------------------------------------------------------------
// Built-in checks
// ---------------------------------------------------------------------------------------------

/** Name of the built-in success-rate check (percent of non-5xx responses) in `lastMeasurements`. */
export const SUCCESS_RATE = 'request-success-rate';
/** Name of the built-in p99 latency check (milliseconds) in `lastMeasurements`. */
export const LATENCY_P99 = 'request-duration-p99';
