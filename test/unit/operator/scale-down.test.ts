/**
 * decide(), rule 10: the losing version's Deployment after a release ends, and giving replicas
 * back when a later release needs a version again. One row per transition, literal inputs and
 * literal expected status (scaleDown, scaledDown), actions and requeue.
 */
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../../api/v1alpha1/canary-release.js';
import { decide } from '../../../operator/core/decide.js';
import type { Action, Observations, Readiness } from '../../../operator/core/types.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v2', deployment: 'reviews-v2', revision: '1.1' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 50 }],
  analysis: { interval: '10s', threshold: 1, successRate: { min: 99 }, missingData: { policy: 'Hold' } },
};
const RELEASE = 'reviews/reviews/primary:v1->v2@1.1';

/** A finished release whose routes were read back at T0 (the end of the release). */
function finished(phase: 'Succeeded' | 'RolledBack', over: Partial<CanaryReleaseStatus> = {}) {
  return {
    observedGeneration: 1,
    release: RELEASE,
    phase,
    currentStep: phase === 'Succeeded' ? 1 : 0,
    totalSteps: 1,
    canaryWeight: phase === 'Succeeded' ? 100 : 0,
    stepStartedAt: iso(0),
    consecutiveFailures: 0,
    routesSettled: true,
    ...over,
  } satisfies CanaryReleaseStatus;
}

const route = (
  canary: number,
  over: Partial<{
    headerRoutes: string[];
    mirrorPercentage: number;
    otherRoutes: Record<string, string[]>;
  }> = {},
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
const dep = (replicas: number | undefined, ready = true): Readiness => ({
  ready,
  ...(replicas !== undefined ? { replicas } : {}),
});
const ev = (reason: string, message: string): Action => ({
  type: 'EmitEvent',
  eventType: 'Normal',
  reason,
  message,
});

interface Row {
  readonly name: string;
  readonly spec?: CanaryReleaseSpecInput;
  readonly status: CanaryReleaseStatus;
  readonly obs: Partial<Observations>;
  readonly at: number;
  readonly expect: {
    readonly phase?: CanaryReleaseStatus['phase'];
    readonly scaleDown: CanaryReleaseStatus['scaleDown'];
    readonly scaledDown: CanaryReleaseStatus['scaledDown'];
    readonly actions: readonly Action[];
    readonly requeue: number | null;
  };
}

const promotedRoute = route(100);
const rolledBackRoute = route(0);

const rows: Row[] = [
  {
    name: 'after a promotion the old stable waits for scaleDown.delay (30s by default)',
    status: finished('Succeeded'),
    obs: { route: promotedRoute, stable: dep(3), canary: dep(3) },
    at: 5,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'Waiting',
        dueAt: iso(30),
        message: `Deployment reviews-v1 (v1) scales to 0 at ${iso(30)} (scaleDown.delay 30s)`,
      },
      scaledDown: undefined,
      actions: [],
      requeue: 25_000,
    },
  },
  {
    name: 'when the delay is over the old stable is scaled to 0 and its replicas are recorded',
    status: finished('Succeeded'),
    obs: { route: promotedRoute, stable: dep(3), canary: dep(3) },
    at: 30,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'ScalingDown',
        message:
          'Deployment reviews-v1 (v1) scaled from 3 to 0 replicas 30s after the release was promoted; a release that needs v1 again gives them back',
      },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
      actions: [
        { type: 'ScaleDeployment', deployment: 'reviews-v1', replicas: 0 },
        ev(
          'ScaledDown',
          'Deployment reviews-v1 (v1) scaled from 3 to 0 replicas 30s after the release was promoted; a release that needs v1 again gives them back',
        ),
      ],
      requeue: 1000,
    },
  },
  {
    name: 'a scale write not yet read back is made again (a crash between the status and the scale)',
    status: finished('Succeeded', {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScalingDown', message: 'm' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
    }),
    obs: { route: promotedRoute, stable: dep(3), canary: dep(3) },
    at: 31,
    expect: {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScalingDown', message: 'm' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
      actions: [{ type: 'ScaleDeployment', deployment: 'reviews-v1', replicas: 0 }],
      requeue: 1000,
    },
  },
  {
    name: 'read back at 0 replicas the scale-down is done, and then left alone for good',
    status: finished('Succeeded', {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScalingDown', message: 'm' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
    }),
    obs: { route: promotedRoute, stable: dep(0, false), canary: dep(3) },
    at: 32,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'ScaledDown',
        message: 'Deployment reviews-v1 (v1) has 0 replicas; a release that needs v1 again gives them back',
      },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
      actions: [],
      requeue: null,
    },
  },
  {
    name: 'scaled up again by someone after the scale-down, it is not fought',
    status: finished('Succeeded', {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScaledDown', message: 'done' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
    }),
    obs: { route: promotedRoute, stable: dep(2), canary: dep(3) },
    at: 90,
    expect: {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScaledDown', message: 'done' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
      actions: [],
      requeue: null,
    },
  },
  {
    name: 'after a rollback the canary is the one scaled down, with its own delay counted from the rollback',
    spec: { ...spec, scaleDown: { delay: '5s' } },
    status: finished('RolledBack'),
    obs: { route: rolledBackRoute, stable: dep(3), canary: dep(2) },
    at: 5,
    expect: {
      scaleDown: {
        deployment: 'reviews-v2',
        subset: 'v2',
        state: 'ScalingDown',
        message:
          'Deployment reviews-v2 (v2) scaled from 2 to 0 replicas 5s after the release was rolled back; a release that needs v2 again gives them back',
      },
      scaledDown: [{ deployment: 'reviews-v2', subset: 'v2', replicas: 2 }],
      actions: [
        { type: 'ScaleDeployment', deployment: 'reviews-v2', replicas: 0 },
        ev(
          'ScaledDown',
          'Deployment reviews-v2 (v2) scaled from 2 to 0 replicas 5s after the release was rolled back; a release that needs v2 again gives them back',
        ),
      ],
      requeue: 1000,
    },
  },
  {
    name: 'never while another route of the VirtualService still sends the loser traffic',
    status: finished('Succeeded'),
    obs: { route: route(100, { otherRoutes: { v1: ['health'] } }), stable: dep(3), canary: dep(3) },
    at: 30,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'Held',
        message:
          'Deployment reviews-v1 stays up: route health of VirtualService reviews still send v1 traffic; it scales to 0 once none does',
      },
      scaledDown: undefined,
      actions: [
        ev(
          'ScaleDownHeld',
          'Deployment reviews-v1 stays up: route health of VirtualService reviews still send v1 traffic; it scales to 0 once none does',
        ),
      ],
      requeue: 10_000,
    },
  },
  {
    name: 'held once, the Event is not repeated on the next pass',
    status: finished('Succeeded', {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'Held', message: 'held' },
    }),
    obs: { route: route(100, { otherRoutes: { v1: ['health'] } }), stable: dep(3), canary: dep(3) },
    at: 40,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'Held',
        message:
          'Deployment reviews-v1 stays up: route health of VirtualService reviews still send v1 traffic; it scales to 0 once none does',
      },
      scaledDown: undefined,
      actions: [],
      requeue: 10_000,
    },
  },
  {
    name: 'a canary kept reachable by its header routes after a rollback (keepHeaderRoutes) is not scaled down',
    spec: { ...spec, rollback: { keepHeaderRoutes: true } },
    status: finished('RolledBack'),
    obs: { route: route(0, { headerRoutes: ['jason'] }), stable: dep(3), canary: dep(2) },
    at: 30,
    expect: {
      scaleDown: {
        deployment: 'reviews-v2',
        subset: 'v2',
        state: 'Held',
        message:
          'Deployment reviews-v2 stays up: its header routes jason (rollback.keepHeaderRoutes) of VirtualService reviews still send v2 traffic; it scales to 0 once none does',
      },
      scaledDown: undefined,
      actions: [
        ev(
          'ScaleDownHeld',
          'Deployment reviews-v2 stays up: its header routes jason (rollback.keepHeaderRoutes) of VirtualService reviews still send v2 traffic; it scales to 0 once none does',
        ),
      ],
      requeue: 10_000,
    },
  },
  {
    name: 'nothing is scaled before the final routes are read back',
    status: finished('Succeeded', { routesSettled: false }),
    obs: { route: route(50), stable: dep(3), canary: dep(3) },
    at: 60,
    expect: {
      scaleDown: undefined,
      scaledDown: undefined,
      actions: [{ type: 'SetRoutes', stableWeight: 0, canaryWeight: 100 }],
      requeue: 10_000,
    },
  },
  {
    name: 'scaleDown.enabled false leaves the loser running',
    spec: { ...spec, scaleDown: { enabled: false } },
    status: finished('Succeeded'),
    obs: { route: promotedRoute, stable: dep(3), canary: dep(3) },
    at: 60,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'LeftAlone',
        message: 'scaleDown.enabled is false: Deployment reviews-v1 (v1) keeps its replicas',
      },
      scaledDown: undefined,
      actions: [],
      requeue: null,
    },
  },
  {
    name: 'a loser already at 0 replicas (scaled by someone else) is left alone and not recorded',
    status: finished('Succeeded'),
    obs: { route: promotedRoute, stable: dep(0, false), canary: dep(3) },
    at: 60,
    expect: {
      scaleDown: {
        deployment: 'reviews-v1',
        subset: 'v1',
        state: 'LeftAlone',
        message: 'Deployment reviews-v1 (v1) already has 0 replicas',
      },
      scaledDown: undefined,
      actions: [],
      requeue: null,
    },
  },
  {
    name: 'a new release that needs a scaled-down version gives its replicas back and waits before step 0',
    spec: {
      ...spec,
      stable: { subset: 'v2', deployment: 'reviews-v2' },
      canary: { subset: 'v1', deployment: 'reviews-v1', revision: '1.2' },
    },
    status: finished('Succeeded', {
      scaleDown: { deployment: 'reviews-v1', subset: 'v1', state: 'ScaledDown', message: 'done' },
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
    }),
    obs: { generation: 2, route: route(0), stable: dep(3), canary: dep(0, false) },
    at: 120,
    expect: {
      phase: 'Initializing',
      scaleDown: undefined,
      scaledDown: [{ deployment: 'reviews-v1', subset: 'v1', replicas: 3 }],
      actions: [
        { type: 'ScaleDeployment', deployment: 'reviews-v1', replicas: 3 },
        ev('SpecChanged', 'generation 2: the release restarts from the beginning'),
        ev('ScaledUp', 'Deployment reviews-v1 (v1) scaled from 0 back to 3 replicas: this release needs v1'),
      ],
      requeue: 1000,
    },
  },
  {
    name: 'once it has replicas again the record is dropped and the release starts when the canary is ready',
    spec: {
      ...spec,
      stable: { subset: 'v2', deployment: 'reviews-v2' },
      canary: { subset: 'v1', deployment: 'reviews-v1', revision: '1.2' },
    },
    status: {
      observedGeneration: 2,
      release: 'reviews/reviews/primary:v2->v1@1.2',
      phase: 'Initializing',
      currentStep: 0,
      totalSteps: 1,
      canaryWeight: 0,
      stepStartedAt: iso(120),
      consecutiveFailures: 0,
      scaledDown: [
        { deployment: 'reviews-v0', subset: 'v0', replicas: 1 },
        { deployment: 'reviews-v1', subset: 'v1', replicas: 3 },
      ],
    },
    obs: { generation: 2, route: route(0), stable: dep(3), canary: dep(3) },
    at: 125,
    expect: {
      phase: 'Progressing',
      scaleDown: undefined,
      scaledDown: [{ deployment: 'reviews-v0', subset: 'v0', replicas: 1 }],
      actions: [
        { type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 },
        ev('Started', 'release of v1 (1.2) started: step 0/1: setWeight 50'),
      ],
      requeue: 10_000,
    },
  },
];

describe('decide, rule 10: the losing version', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const obs: Observations = { generation: 1, route: route(0), metrics: {}, ...row.obs };
    const d = decide(row.spec ?? spec, row.status, obs, new Date(T0 + row.at * 1000));
    expect({
      ...(row.expect.phase ? { phase: d.status.phase } : {}),
      scaleDown: d.status.scaleDown,
      scaledDown: d.status.scaledDown,
      actions: d.actions,
      requeue: d.requeueAfter,
    }).toStrictEqual(row.expect);
  });
});
