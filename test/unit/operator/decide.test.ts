/**
 * decide(): one row per transition, with literal inputs (spec, persisted status, observations,
 * now) and literal expected outputs (phase, step, weight, failures, actions, requeue).
 */
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../../api/v1alpha1/canary-release.js';
import { analysisDue, decide, releaseKey } from '../../../operator/core/decide.js';
import { sameStatus } from '../../../operator/core/status.js';
import { planSteps } from '../../../operator/core/plan.js';
import type { Action, MetricObservation, Observations } from '../../../operator/core/types.js';
import { parseSpec } from '../../../api/v1alpha1/canary-release.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
  analysis: { interval: '1m', threshold: 2, successRate: { min: 99 }, missingData: { policy: 'Hold' } },
};
const RELEASE = 'reviews/reviews/primary:v1->v3@';

/** A persisted status: the fields a row sets, on top of "step 0 of gen 1 started at T0". */
function status(over: Partial<CanaryReleaseStatus>): CanaryReleaseStatus {
  return {
    observedGeneration: 1,
    release: RELEASE,
    phase: 'Progressing',
    currentStep: 0,
    totalSteps: 3,
    canaryWeight: 10,
    stepStartedAt: iso(0),
    consecutiveFailures: 0,
    ...over,
  };
}

const route = (
  canary: number,
  over: Partial<{ headerRoutes: string[]; mirrorPercentage: number; fault: boolean }> = {},
) =>
  ({
    found: true,
    stableWeight: 100 - canary,
    canaryWeight: canary,
    headerRoutes: [],
    mirrorPercentage: 0,
    fault: false,
    ...over,
  }) as const;
const rate = (v: number): Record<string, MetricObservation> => ({
  'request-success-rate': { canary: { kind: 'Value', value: v } },
});

interface Row {
  readonly name: string;
  readonly spec?: unknown;
  readonly status: CanaryReleaseStatus | undefined;
  readonly obs: Partial<Observations>;
  /** Seconds after T0. */
  readonly at: number;
  readonly expect: {
    readonly phase: CanaryReleaseStatus['phase'];
    readonly step: number;
    readonly weight: number;
    readonly failures?: number;
    readonly actions: readonly Action[];
    readonly requeue: number | null;
    readonly progressing?: string;
  };
}

const ev = (eventType: 'Normal' | 'Warning', reason: string, message: string): Action => ({
  type: 'EmitEvent',
  eventType,
  reason,
  message,
});

const rows: Row[] = [
  {
    name: 'first reconcile, canary ready: starts at step 0 with weight 10',
    status: undefined,
    obs: { route: route(0), canary: { ready: true } },
    at: 0,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev('Normal', 'Started', 'release of v3 started: step 0/3: setWeight 10'),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'first reconcile, canary not ready: everything to stable, waits',
    status: undefined,
    obs: { route: route(20), canary: { ready: false, message: '0/2 available' } },
    at: 0,
    expect: {
      phase: 'Initializing',
      step: 0,
      weight: 0,
      actions: [{ type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 }],
      requeue: 60_000,
      progressing: 'waiting for canary Deployment reviews-v3 to be ready (0/2 available)',
    },
  },
  {
    name: 'check not due yet: nothing to do, requeue at the check',
    status: status({}),
    obs: { route: route(10), metrics: rate(100) },
    at: 30,
    expect: { phase: 'Progressing', step: 0, weight: 10, actions: [], requeue: 30_000 },
  },
  {
    name: 'check passes: advances to the manual gate, weights unchanged',
    status: status({}),
    obs: { route: route(10), metrics: rate(99.5) },
    at: 60,
    expect: {
      phase: 'Paused',
      step: 1,
      weight: 10,
      actions: [ev('Normal', 'StepAdvanced', 'step 1/3: pause (manual gate)')],
      requeue: 60_000,
    },
  },
  {
    name: 'check fails once (1/2): stays, counts, warns',
    status: status({}),
    obs: { route: route(10), metrics: rate(97) },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      failures: 1,
      actions: [
        ev(
          'Warning',
          'CheckFailed',
          'check failed (1/2) at step 0: canary success rate 97% is below the minimum 99%',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'check fails the threshold-th time: rolls back at once',
    status: status({ consecutiveFailures: 1, lastCheckAt: iso(60), lastCheckPassed: false }),
    obs: { route: route(10), metrics: rate(90) },
    at: 120,
    expect: {
      phase: 'RolledBack',
      step: 0,
      weight: 0,
      failures: 2,
      actions: [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
        {
          type: 'RollBack',
          reason: 'AnalysisFailed',
          message:
            'check failed 2/2 times in a row at step 0 (setWeight 10): canary success rate 90% is below the minimum 99%; all traffic goes to stable v1',
        },
        ev(
          'Warning',
          'AnalysisFailed',
          'check failed 2/2 times in a row at step 0 (setWeight 10): canary success rate 90% is below the minimum 99%; all traffic goes to stable v1',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'manual gate, checks pass, no resume: keeps waiting',
    status: status({ phase: 'Paused', currentStep: 1 }),
    obs: { route: route(10), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Paused',
      step: 1,
      weight: 10,
      actions: [],
      requeue: 60_000,
      progressing:
        'step 1/3 (pause (manual gate)): waiting for approval: resume step 1 (annotation delivery.cdk8s-mesh.io/resume=1/1)',
    },
  },
  {
    name: 'manual gate resumed for this generation and step, last check passed: advances to 50',
    status: status({ phase: 'Paused', currentStep: 1, lastCheckAt: iso(60), lastCheckPassed: true }),
    obs: { route: route(10), metrics: rate(100), commands: { resume: { generation: 1, step: 1 } } },
    at: 90,
    expect: {
      phase: 'Progressing',
      step: 2,
      weight: 50,
      actions: [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }],
      requeue: 60_000,
    },
  },
  {
    name: 'manual gate resumed for an older generation: ignored',
    status: status({ phase: 'Paused', currentStep: 1, lastCheckAt: iso(60), lastCheckPassed: true }),
    obs: { route: route(10), metrics: rate(100), commands: { resume: { generation: 0, step: 1 } } },
    at: 90,
    expect: { phase: 'Paused', step: 1, weight: 10, actions: [], requeue: 30_000 },
  },
  {
    name: 'manual gate, failing checks reach the threshold: rolls back during the gate',
    status: status({
      phase: 'Paused',
      currentStep: 1,
      consecutiveFailures: 1,
      lastCheckAt: iso(60),
      lastCheckPassed: false,
    }),
    obs: { route: route(10), metrics: rate(50) },
    at: 120,
    expect: {
      phase: 'RolledBack',
      step: 1,
      weight: 0,
      failures: 2,
      actions: [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
        {
          type: 'RollBack',
          reason: 'AnalysisFailed',
          message:
            'check failed 2/2 times in a row at step 1 (pause (manual gate)): canary success rate 50% is below the minimum 99%; all traffic goes to stable v1',
        },
        ev(
          'Warning',
          'AnalysisFailed',
          'check failed 2/2 times in a row at step 1 (pause (manual gate)): canary success rate 50% is below the minimum 99%; all traffic goes to stable v1',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'last step passes: promotes',
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: { route: route(50), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Succeeded',
      step: 3,
      weight: 100,
      actions: [
        { type: 'SetRoutes', stableWeight: 0, canaryWeight: 100 },
        { type: 'Promote', stableSubset: 'v1', canarySubset: 'v3' },
        ev('Normal', 'Promoted', 'all 3 steps passed; v3 takes all traffic of route primary'),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'last step with no data (policy Hold): not promoted, not counted',
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: { route: route(50), metrics: { 'request-success-rate': { canary: { kind: 'NoData' } } } },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 2,
      weight: 50,
      failures: 0,
      actions: [],
      requeue: 60_000,
      progressing:
        'step 2/3 (setWeight 50): waiting for data for the analysis (missing since 2026-01-01T00:01:00.000Z, policy Hold)',
    },
  },
  {
    name: 'a query that failed counts as missing data, never as a pass',
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: {
      route: route(50),
      metrics: { 'request-success-rate': { canary: { kind: 'QueryFailed', error: 'connection refused' } } },
    },
    at: 60,
    expect: { phase: 'Progressing', step: 2, weight: 50, failures: 0, actions: [], requeue: 60_000 },
  },
  {
    name: 'a NaN value (0/0 with no traffic) is no data, never a pass',
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: { route: route(50), metrics: rate(Number.NaN) },
    at: 60,
    expect: { phase: 'Progressing', step: 2, weight: 50, failures: 0, actions: [], requeue: 60_000 },
  },
  {
    name: 'missing data with policy Fail counts as a failed check',
    spec: { ...spec, analysis: { ...spec.analysis, missingData: { policy: 'Fail' } } },
    status: status({}),
    obs: { route: route(10), metrics: {} },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      failures: 1,
      actions: [ev('Warning', 'CheckFailed', 'check failed (1/2) at step 0: canary success rate: no data')],
      requeue: 60_000,
    },
  },
  {
    name: 'missing data with FailAfterDeadline, within the deadline: held, not counted',
    spec: {
      ...spec,
      analysis: { ...spec.analysis, missingData: { policy: 'FailAfterDeadline', deadline: '90s' } },
    },
    status: status({}),
    obs: { route: route(10), metrics: {} },
    at: 60,
    expect: { phase: 'Progressing', step: 0, weight: 10, failures: 0, actions: [], requeue: 60_000 },
  },
  {
    name: 'missing data with FailAfterDeadline, past the deadline: counts',
    spec: {
      ...spec,
      analysis: { ...spec.analysis, missingData: { policy: 'FailAfterDeadline', deadline: '90s' } },
    },
    status: status({ lastCheckAt: iso(60), lastCheckPassed: false, missingDataSince: iso(60) }),
    obs: { route: route(10), metrics: {} },
    at: 180,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      failures: 1,
      actions: [ev('Warning', 'CheckFailed', 'check failed (1/2) at step 0: canary success rate: no data')],
      requeue: 60_000,
    },
  },
  {
    name: 'drifted weights, policy Hold: nothing written, one warning',
    status: status({}),
    obs: { route: route(70), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10: someone else changed the VirtualService. Holding (driftPolicy Hold): restore the weights, or resume step 0 to write them back",
        ),
      ],
      requeue: 60_000,
      progressing:
        "the route's weights are stable 30 / canary 70, expected 90 / 10: someone else changed the VirtualService. Holding (driftPolicy Hold): restore the weights, or resume step 0 to write them back",
    },
  },
  {
    name: 'drifted weights, policy Hold, already reported: no second warning, no advance',
    status: status({
      lastCheckAt: iso(60),
      lastCheckPassed: true,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'WeightsDrifted',
          message: 'x',
          lastTransitionTime: iso(30),
          observedGeneration: 1,
        },
      ],
    }),
    obs: { route: route(70), metrics: rate(100) },
    at: 90,
    expect: { phase: 'Progressing', step: 0, weight: 10, actions: [], requeue: 60_000 },
  },
  {
    name: 'drifted weights, policy Hold, step resumed: written back',
    status: status({}),
    obs: { route: route(70), metrics: rate(100), commands: { resume: { generation: 1, step: 0 } } },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10; writing them back (driftPolicy Hold, resumed)",
        ),
      ],
      requeue: 30_000,
    },
  },
  {
    name: 'drifted weights, policy Reapply: written back',
    spec: { ...spec, driftPolicy: 'Reapply' },
    status: status({}),
    obs: { route: route(70), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10; writing them back (driftPolicy Reapply)",
        ),
      ],
      requeue: 30_000,
    },
  },
  {
    name: 'drifted weights, policy Reapply, written back 2 times in this release: written back a third time',
    spec: { ...spec, driftPolicy: 'Reapply' },
    status: status({ weightsWrittenBack: 2 }),
    obs: { route: route(70), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10; writing them back (driftPolicy Reapply)",
        ),
      ],
      requeue: 30_000,
    },
  },
  {
    name: 'drifted weights, policy Reapply, already written back 3 times in this release: holds, no tug of war',
    spec: { ...spec, driftPolicy: 'Reapply' },
    status: status({ weightsWrittenBack: 3 }),
    obs: { route: route(70), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10: someone else keeps changing the VirtualService (written back 3 times in this release). Holding instead of writing them back again: stop the other writer, then restore the weights",
        ),
      ],
      requeue: 60_000,
      progressing:
        "the route's weights are stable 30 / canary 70, expected 90 / 10: someone else keeps changing the VirtualService (written back 3 times in this release). Holding instead of writing them back again: stop the other writer, then restore the weights",
    },
  },
  {
    name: 'drifted weights, policy RollBack: rolls back',
    spec: { ...spec, driftPolicy: 'RollBack' },
    status: status({}),
    obs: { route: route(70), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'RolledBack',
      step: 0,
      weight: 0,
      actions: [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
        {
          type: 'RollBack',
          reason: 'WeightsDrifted',
          message:
            "the route's weights are stable 30 / canary 70, expected 90 / 10 (driftPolicy RollBack); all traffic goes to stable v1",
        },
        ev(
          'Warning',
          'WeightsDrifted',
          "the route's weights are stable 30 / canary 70, expected 90 / 10 (driftPolicy RollBack); all traffic goes to stable v1",
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'weights one step behind the status (status written, routes not): not drift, rewritten',
    status: status({}),
    obs: { route: route(0), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [{ type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 }],
      requeue: 30_000,
    },
  },
  {
    name: 'spec changed mid-rollout: restarts from step 0 at once',
    status: status({ currentStep: 2, canaryWeight: 50, consecutiveFailures: 1 }),
    obs: { generation: 2, route: route(50), metrics: rate(100) },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      failures: 0,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev('Normal', 'SpecChanged', 'generation 2: the release restarts from the beginning'),
        ev('Normal', 'Started', 'release of v3 started: step 0/3: setWeight 10'),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'spec changed after success, same release: only the generation is recorded',
    status: status({ phase: 'Succeeded', currentStep: 3, canaryWeight: 100, routesSettled: true }),
    obs: { generation: 2, route: route(100) },
    at: 30,
    expect: { phase: 'Succeeded', step: 3, weight: 100, actions: [], requeue: null },
  },
  {
    name: 'spec changed after success, new canary revision: a new release starts',
    spec: { ...spec, canary: { ...spec.canary, revision: '1.2.0' } },
    status: status({ phase: 'Succeeded', currentStep: 3, canaryWeight: 100, routesSettled: true }),
    obs: { generation: 2, route: route(100), metrics: {} },
    at: 30,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        { type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 },
        ev('Normal', 'SpecChanged', 'generation 2: the release restarts from the beginning'),
        ev('Normal', 'Started', 'release of v3 (1.2.0) started: step 0/3: setWeight 10'),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'finished release whose final routes are read back: settles and lets go',
    status: status({ phase: 'RolledBack', canaryWeight: 0, routesSettled: false }),
    obs: { route: route(0) },
    at: 30,
    expect: { phase: 'RolledBack', step: 0, weight: 0, actions: [], requeue: null },
  },
  {
    name: 'finished release whose final routes were not written: writes them again',
    status: status({ phase: 'RolledBack', canaryWeight: 0, routesSettled: false }),
    obs: { route: route(10) },
    at: 30,
    expect: {
      phase: 'RolledBack',
      step: 0,
      weight: 0,
      actions: [{ type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 }],
      requeue: 60_000,
    },
  },
  {
    name: 'abort annotation for this generation: rolls back',
    status: status({ phase: 'Paused', currentStep: 1 }),
    obs: { route: route(10), commands: { abort: { generation: 1 } } },
    at: 30,
    expect: {
      phase: 'RolledBack',
      step: 1,
      weight: 0,
      actions: [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
        {
          type: 'RollBack',
          reason: 'Aborted',
          message: 'aborted by annotation at step 1 (pause (manual gate)); all traffic goes to stable v1',
        },
        ev(
          'Warning',
          'Aborted',
          'aborted by annotation at step 1 (pause (manual gate)); all traffic goes to stable v1',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'canary not ready: no check, the progress deadline starts',
    status: status({}),
    obs: { route: route(10), canary: { ready: false }, metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [],
      requeue: 60_000,
      progressing:
        'step 0/3 (setWeight 10): waiting for canary Deployment reviews-v3 to be ready (rolls back after 10m), the first check of this step at 2026-01-01T00:01:00.000Z',
    },
  },
  {
    name: 'canary not ready past the progress deadline: rolls back',
    status: status({ canaryNotReadySince: iso(0) }),
    obs: { route: route(10), canary: { ready: false, message: '0/2 available' } },
    at: 600,
    expect: {
      phase: 'RolledBack',
      step: 0,
      weight: 0,
      actions: [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
        {
          type: 'RollBack',
          reason: 'ProgressDeadlineExceeded',
          message:
            'canary Deployment reviews-v3 has not been ready for 10m (progressDeadline): 0/2 available; all traffic goes to stable v1',
        },
        ev(
          'Warning',
          'ProgressDeadlineExceeded',
          'canary Deployment reviews-v3 has not been ready for 10m (progressDeadline): 0/2 available; all traffic goes to stable v1',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'route not found: nothing written, the condition names the field and the fix',
    status: status({}),
    obs: { route: { found: false, reason: 'RouteNotFound', available: ['default', 'jason'] } },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        ev(
          'Warning',
          'RouteNotFound',
          '.spec.virtualService.route: VirtualService reviews has no HTTP route named "primary" (it has: default, jason): name one of its routes, or add `name: primary` to the route to drive',
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'invalid spec: never acted on, Invalid with the field and the fix, one event',
    spec: { ...spec, steps: [{ setWeight: 120 }] },
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: { generation: 2, route: route(50) },
    at: 30,
    expect: {
      phase: 'Invalid',
      step: 2,
      weight: 50,
      actions: [
        ev(
          'Warning',
          'InvalidSpec',
          'the spec is invalid and is not acted on until it is fixed: .spec.steps[0].setWeight: must be an integer percentage from 0 to 100 (received 120)',
        ),
      ],
      requeue: null,
    },
  },
  {
    name: 'invalid spec already reported for this generation: silent',
    spec: { ...spec, steps: [{ setWeight: 120 }] },
    status: status({ phase: 'Invalid', observedGeneration: 2 }),
    obs: { generation: 2, route: route(10) },
    at: 30,
    expect: { phase: 'Invalid', step: 0, weight: 10, actions: [], requeue: null },
  },
  {
    name: 'timed pause before its end: waits for the duration',
    spec: { ...spec, steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 50 }] },
    status: status({ currentStep: 1, lastCheckAt: iso(60), lastCheckPassed: true }),
    obs: { route: route(10), metrics: rate(100) },
    at: 120,
    expect: { phase: 'Progressing', step: 1, weight: 10, actions: [], requeue: 60_000 },
  },
  {
    name: 'timed pause at its end with a passing check: advances',
    spec: { ...spec, steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 50 }] },
    status: status({ currentStep: 1, lastCheckAt: iso(240), lastCheckPassed: true }),
    obs: { route: route(10), metrics: rate(100) },
    at: 300,
    expect: {
      phase: 'Progressing',
      step: 2,
      weight: 50,
      actions: [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }],
      requeue: 60_000,
    },
  },
  {
    name: 'fault test at the end of its window, its last check before the end: waits for the check after it',
    spec: {
      ...spec,
      steps: [
        { setWeight: 10 },
        { faultTest: { delay: { fixedDelay: '7s' }, duration: '90s', latencyP99: { max: '8s' } } },
        { setWeight: 50 },
      ],
    },
    status: status({ currentStep: 1, lastCheckAt: iso(60.07), lastCheckPassed: true }),
    obs: { route: route(10, { fault: true }) },
    at: 90,
    expect: {
      phase: 'Progressing',
      step: 1,
      weight: 10,
      actions: [],
      requeue: 30_000,
      progressing:
        "step 1/3 (faultTest 90s): waiting for a check after the step's end, at 2026-01-01T00:02:00.000Z",
    },
  },
  {
    name: 'fault test: the check after the end of its window sees the delayed requests and fails; no advance',
    spec: {
      ...spec,
      steps: [
        { setWeight: 10 },
        { faultTest: { delay: { fixedDelay: '7s' }, duration: '90s', latencyP99: { max: '8s' } } },
        { setWeight: 50 },
      ],
    },
    status: status({ currentStep: 1, lastCheckAt: iso(60.07), lastCheckPassed: true }),
    obs: {
      route: route(10, { fault: true }),
      metrics: { 'request-duration-p99': { canary: { kind: 'Value', value: 9000 } } },
    },
    at: 120.07,
    expect: {
      phase: 'Progressing',
      step: 1,
      weight: 10,
      failures: 1,
      actions: [
        ev(
          'Warning',
          'CheckFailed',
          'check failed (1/2) at step 1: canary p99 latency 9000ms is above the maximum 8s',
        ),
      ],
      // the next check keeps to the step's grid: 180 s after its start
      requeue: 59_930,
    },
  },
  {
    name: 'entering a header route step adds the route to the canary',
    spec: {
      ...spec,
      steps: [
        { setWeight: 0 },
        { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
        { setWeight: 20 },
      ],
    },
    status: status({ canaryWeight: 0 }),
    obs: { route: route(0), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 1,
      weight: 0,
      actions: [{ type: 'AddHeaderRoute', name: 'jason', headers: { 'end-user': { exact: 'jason' } } }],
      requeue: 60_000,
    },
  },
  {
    name: 'entering a mirror step mirrors; the next step stops mirroring',
    spec: { ...spec, steps: [{ mirror: { percentage: 50, duration: '2m' } }, { setWeight: 20 }] },
    status: status({ totalSteps: 2, canaryWeight: 0, lastCheckAt: iso(60), lastCheckPassed: true }),
    obs: { route: route(0, { mirrorPercentage: 50 }), metrics: rate(100) },
    at: 120,
    expect: {
      phase: 'Progressing',
      step: 1,
      weight: 20,
      actions: [
        { type: 'SetRoutes', stableWeight: 80, canaryWeight: 20 },
        { type: 'SetMirror', percentage: 0 },
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'a fault test is judged by its own SLOs: a 7s p99 passes under max 8s',
    spec: {
      ...spec,
      analysis: { ...spec.analysis, latencyP99: { max: '500ms' } },
      steps: [
        { setWeight: 10 },
        { faultTest: { delay: { fixedDelay: '7s' }, duration: '1m', latencyP99: { max: '8s' } } },
        { setWeight: 50 },
      ],
    },
    status: status({ currentStep: 1 }),
    obs: {
      route: route(10, { fault: true }),
      metrics: { ...rate(50), 'request-duration-p99': { canary: { kind: 'Value', value: 7040 } } },
    },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 2,
      weight: 50,
      actions: [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }, { type: 'RemoveFault' }],
      requeue: 60_000,
    },
  },
  {
    name: 'compare to stable: a canary 3 points worse than stable fails',
    spec: {
      ...spec,
      analysis: { ...spec.analysis, successRate: undefined, compareToStable: { maxSuccessRateDrop: 1 } },
    },
    status: status({}),
    obs: {
      route: route(10),
      metrics: {
        'request-success-rate': {
          canary: { kind: 'Value', value: 96 },
          stable: { kind: 'Value', value: 99 },
        },
      },
    },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      failures: 1,
      actions: [
        ev(
          'Warning',
          'CheckFailed',
          "check failed (1/2) at step 0: canary success rate 96% is more than 1 points below stable's 99%",
        ),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'manual promotion approval: after the last step, waits at the promotion point',
    spec: { ...spec, promotion: { manualApproval: true } },
    status: status({ currentStep: 2, canaryWeight: 50 }),
    obs: { route: route(50), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Paused',
      step: 3,
      weight: 50,
      actions: [
        ev('Normal', 'StepAdvanced', 'all 3 steps passed; waiting for approval to promote (resume step 3)'),
      ],
      requeue: 60_000,
    },
  },
  {
    name: 'short form: stepWeight 20 up to 50 is 20, 40, 50',
    spec: { ...spec, steps: undefined, stepWeight: 20, maxWeight: 50 },
    status: status({ currentStep: 1, canaryWeight: 40 }),
    obs: { route: route(40), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 2,
      weight: 50,
      actions: [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }],
      requeue: 60_000,
    },
  },
  {
    name: 'a status that does not parse is reset: the release restarts, and says why',
    status: { ...status({}), canaryWeight: 150 },
    obs: { route: route(10), metrics: rate(100) },
    at: 60,
    expect: {
      phase: 'Progressing',
      step: 0,
      weight: 10,
      actions: [
        ev(
          'Warning',
          'StatusReset',
          'the status does not parse (.status.canaryWeight: Too big: expected number to be <=100 (received 150)); the release restarts from the beginning with all traffic on stable',
        ),
        ev('Normal', 'Started', 'release of v3 started: step 0/3: setWeight 10'),
      ],
      requeue: 60_000,
    },
  },
];

describe('decide: one row per transition', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const obs: Observations = { generation: 1, route: route(0), metrics: {}, ...row.obs };
    const d = decide(row.spec ?? spec, row.status, obs, new Date(T0 + row.at * 1000));
    expect({
      phase: d.status.phase,
      step: d.status.currentStep,
      weight: d.status.canaryWeight,
      ...(row.expect.failures !== undefined ? { failures: d.status.consecutiveFailures } : {}),
      actions: d.actions,
      requeue: d.requeueAfter,
      ...(row.expect.progressing !== undefined ? { progressing: d.status.message } : {}),
    }).toStrictEqual(row.expect);
  });
});

describe('decide: status details', () => {
  test('the release key in the base status is what decide computes', () => {
    const p = parseSpec(spec);
    expect(p.ok && releaseKey(p.spec)).toBe(RELEASE);
    expect(p.ok && planSteps(p.spec).length).toBe(3);
  });

  test('an invalid spec names the field and the fix in the Valid condition', () => {
    const d = decide(
      { ...spec, steps: [{ pause: { duration: '-5s' } }] },
      undefined,
      { generation: 3, route: route(0), metrics: {} },
      new Date(T0),
    );
    expect(d.status.conditions?.find((c) => c.type === 'Valid')).toStrictEqual({
      type: 'Valid',
      status: 'False',
      observedGeneration: 3,
      lastTransitionTime: iso(0),
      reason: 'InvalidSpec',
      message:
        'the spec is invalid and is not acted on until it is fixed: .spec.steps[0].pause.duration: must be a duration such as 30s, 5m or 1h30m (digits and ms/s/m/h; never negative) (received "-5s")',
    });
    expect(d.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([]);
  });

  test('a check records its measurements, the success rate and the Healthy condition', () => {
    const d = decide(
      spec,
      status({}),
      { generation: 1, route: route(10), metrics: rate(97.25) },
      new Date(T0 + 60_000),
    );
    expect(d.status.lastMeasurements).toStrictEqual([
      {
        name: 'request-success-rate',
        result: 'Fail',
        value: 97.25,
        message: 'canary success rate 97.25% is below the minimum 99%',
      },
    ]);
    expect(d.status.successRate).toBe(97.25);
    expect(d.status.conditions?.find((c) => c.type === 'Healthy')).toMatchObject({
      status: 'False',
      reason: 'ChecksFailing',
    });
  });

  test('history keeps the last 10 transitions with reasons', () => {
    let s: CanaryReleaseStatus | undefined;
    const steps = Array.from({ length: 15 }, (_, i) => ({ setWeight: i + 1 }));
    const long = { ...spec, steps };
    for (let i = 0; i < 15; i++) {
      const d = decide(
        long,
        s,
        { generation: 1, route: route(s?.canaryWeight ?? 0), metrics: rate(100) },
        new Date(T0 + i * 60_000),
      );
      s = d.status;
    }
    expect(s!.history).toHaveLength(10);
    expect(s!.history!.at(-1)).toMatchObject({
      phase: 'Progressing',
      step: 14,
      canaryWeight: 15,
      reason: 'StepAdvanced',
    });
  });

  test('a release that waits for its canary reads Initializing then Started, never Started twice', () => {
    const waiting = decide(
      spec,
      undefined,
      { generation: 1, route: route(0), metrics: {}, canary: { ready: false, message: '0/1 available' } },
      new Date(T0),
    );
    const started = decide(
      spec,
      waiting.status,
      { generation: 1, route: route(0), metrics: {}, canary: { ready: true } },
      new Date(T0 + 3_000),
    );
    expect(started.status.history?.map((h) => [h.reason, h.phase, h.step])).toStrictEqual([
      ['Initializing', 'Initializing', 0],
      ['Started', 'Progressing', 0],
    ]);
    // ready at once: a single Started entry
    const atOnce = decide(
      spec,
      undefined,
      { generation: 1, route: route(0), metrics: {}, canary: { ready: true } },
      new Date(T0),
    );
    expect(atOnce.status.history?.map((h) => h.reason)).toStrictEqual(['Started']);
  });

  test('a release created before its route reads Initializing then Started, never Started twice', () => {
    const holding = decide(
      spec,
      undefined,
      {
        generation: 1,
        route: { found: false, reason: 'VirtualServiceNotFound' },
        metrics: {},
        canary: { ready: true },
      },
      new Date(T0),
    );
    expect(holding.status.conditions?.find((c) => c.type === 'Valid')?.reason).toBe('VirtualServiceNotFound');
    const started = decide(
      spec,
      holding.status,
      { generation: 1, route: route(0), metrics: {}, canary: { ready: true } },
      new Date(T0 + 3_000),
    );
    expect(started.status.history?.map((h) => [h.reason, h.phase, h.step])).toStrictEqual([
      ['Initializing', 'Initializing', 0],
      ['Started', 'Progressing', 0],
    ]);
  });

  test('analysisDue: the runtime queries Prometheus at the first multiple of the interval from the step start after the last check', () => {
    const parsed = parseSpec(spec);
    if (!parsed.ok) throw new Error('fixture spec must parse');
    const due = (st: unknown, at: number) => analysisDue(parsed.spec, st, new Date(T0 + at * 1000));
    expect(due(status({}), 59)).toBe(false);
    expect(due(status({}), 60)).toBe(true);
    const checked = status({ lastCheckAt: new Date(T0 + 90_000).toISOString() });
    expect(due(checked, 119)).toBe(false);
    expect(due(checked, 120)).toBe(true);
    // what it cannot read counts as due: fetching too often is safe, a check without data is not
    expect(due(undefined, 0)).toBe(true);
    expect(due({ stepStartedAt: 'yesterday' }, 0)).toBe(true);
    expect(due({ ...status({}), lastCheckAt: 42 }, 0)).toBe(true);
  });

  test('webhooks are notified of the events they subscribe to', () => {
    const d = decide(
      {
        ...spec,
        webhooks: [
          { name: 'chat', url: 'https://chat.example/h', events: ['RolledBack'] },
          { name: 'all', url: 'http://x/y' },
        ],
      },
      status({ consecutiveFailures: 1 }),
      { generation: 1, route: route(10), metrics: rate(10) },
      new Date(T0 + 60_000),
    );
    expect(
      d.actions.filter((a) => a.type === 'Notify').map((a) => a.type === 'Notify' && [a.webhook, a.event]),
    ).toEqual([
      ['chat', 'RolledBack'],
      ['all', 'RolledBack'],
    ]);
  });
});

describe('a release that waits costs no status write per check', () => {
  const missing: Record<string, MetricObservation> = {
    'request-success-rate': { canary: { kind: 'NoData' } },
  };
  const obsOf = (metrics: Record<string, MetricObservation>): Observations => ({
    generation: 1,
    route: route(10),
    metrics,
    canary: { ready: true },
  });

  test('holding on missing data: only the first check is written; every later one is due on the step grid', () => {
    let stored: CanaryReleaseStatus = status({});
    let writes = 0;
    let at = T0 + 60_000 + 170; // reconciles run a little late
    const dueAt: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = decide(spec, stored, obsOf(missing), new Date(at));
      if (!sameStatus(stored, d.status)) {
        writes++;
        stored = d.status;
      }
      expect(d.status.missingDataSince).toBe(iso(60.17));
      expect(d.requeueAfter).not.toBeNull();
      dueAt.push(at + d.requeueAfter!);
      at += d.requeueAfter! + 130 + i * 7; // late again, by a varying amount
    }
    expect(writes).toBe(1);
    expect(stored.lastCheckAt).toBe(iso(60.17));
    // Lateness does not add up: every check is asked for at a multiple of the interval from the step's start.
    expect(dueAt).toStrictEqual(Array.from({ length: 10 }, (_, i) => T0 + (i + 2) * 60_000));
  });

  test('a check that finds something new is written: a failure that counts, a new measured value', () => {
    // waiting at a manual gate, where analysis keeps running
    const held = status({
      phase: 'Paused',
      currentStep: 1,
      lastCheckAt: iso(60),
      lastCheckPassed: true,
      successRate: 100,
    });
    const failing = decide(spec, held, obsOf(rate(50)), new Date(T0 + 120_000));
    expect([failing.status.lastCheckAt, failing.status.consecutiveFailures]).toStrictEqual([iso(120), 1]);
    const changed = decide(
      spec,
      {
        ...held,
        lastMeasurements: decide(spec, held, obsOf(rate(100)), new Date(T0 + 120_000)).status
          .lastMeasurements,
      },
      obsOf(rate(99.5)),
      new Date(T0 + 120_000),
    );
    expect([changed.status.lastCheckAt, changed.status.successRate]).toStrictEqual([iso(120), 99.5]);
  });

  test('a timed step advances on an unwritten check made at its end', () => {
    const sp = { ...spec, steps: [{ setWeight: 10 }, { pause: { duration: '2m' } }, { setWeight: 50 }] };
    const atStart = decide(sp, status({ currentStep: 1 }), obsOf(rate(100)), new Date(T0 + 60_000));
    expect(atStart.status.lastCheckAt).toBe(iso(60));
    const same = decide(sp, atStart.status, obsOf(rate(100)), new Date(T0 + 90_000));
    expect(sameStatus(atStart.status, same.status)).toBe(true);
    const atEnd = decide(sp, atStart.status, obsOf(rate(100)), new Date(T0 + 120_000));
    expect([atEnd.status.currentStep, atEnd.status.stepStartedAt]).toStrictEqual([2, iso(120)]);
  });
});

describe('decide: drift write-backs', () => {
  test('each write-back is counted in the status, and the count carries over to the next step', () => {
    const reapply = { ...spec, driftPolicy: 'Reapply' };
    const once = decide(
      reapply,
      status({}),
      { generation: 1, route: route(70), metrics: rate(100) },
      new Date(T0 + 30_000),
    );
    expect(once.status.weightsWrittenBack).toBe(1);
    const next = decide(
      reapply,
      status({ weightsWrittenBack: 3, lastCheckAt: iso(60), lastCheckPassed: true }),
      { generation: 1, route: route(10), metrics: rate(100) },
      new Date(T0 + 61_000),
    );
    expect(next.status.currentStep).toBe(1);
    expect(next.status.weightsWrittenBack).toBe(3);
  });
});
