/**
 * The reconciler with fakes at its edges (traffic router, metrics provider, release store): one
 * row per kind of pass, with what it must read and write. The same write paths against the real
 * apiserver: the integration test `operator-reconciler.test.ts`.
 */
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../../../api/v1alpha1/canary-release.js';
import type { RouteSnapshot, RouterError } from '../../../../operator/adapters/istio-router.js';
import type {
  CanaryReleaseObject,
  EventSubject,
  KubeError,
  ObjectRef,
  StatusWrite,
} from '../../../../operator/adapters/kubernetes.js';
import type { BuiltinMetric, MetricResult, QueryVars } from '../../../../operator/adapters/prometheus.js';
import { decide } from '../../../../operator/core/decide.js';
import { err, ok, type Result } from '../../../../operator/core/result.js';
import type { RouteAction, RouteTarget } from '../../../../operator/core/routes.js';
import type { Readiness, RouteObservation } from '../../../../operator/core/types.js';
import type { Clock } from '../../../../operator/runtime/clock.js';
import { silentLogger } from '../../../../operator/runtime/log.js';
import { OperatorMetrics } from '../../../../operator/runtime/metrics.js';
import type {
  AnalysisMetrics,
  EventRecorder,
  ReadOptions,
  ReleaseReader,
  StatusWriter,
  TrafficRouter,
} from '../../../../operator/runtime/ports.js';
import { ReconcileError, Reconciler } from '../../../../operator/runtime/reconciler.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const ref: ObjectRef = { namespace: 'shop', name: 'reviews' };

const spec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v2' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 20 }, { setWeight: 50 }],
  analysis: { interval: '1m', successRate: { min: 99 } },
};

const withDeployments: CanaryReleaseSpecInput = {
  ...spec,
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v2', deployment: 'reviews-v2' },
};

const routeAt = (canaryWeight: number): RouteObservation => ({
  found: true,
  stableWeight: 100 - canaryWeight,
  canaryWeight,
  headerRoutes: [],
  mirrorPercentage: 0,
  fault: false,
});

/** Step 0 (setWeight 20) of generation 1, begun at T0, no check yet. */
const atStep0: CanaryReleaseStatus = {
  observedGeneration: 1,
  release: 'reviews/reviews/primary:v1->v2@',
  phase: 'Progressing',
  currentStep: 0,
  totalSteps: 2,
  canaryWeight: 20,
  stepStartedAt: iso(0),
  consecutiveFailures: 0,
};

/** Step 1 (setWeight 50, the last) begun at T0, no check yet: a passing check promotes. */
const atStep1: CanaryReleaseStatus = { ...atStep0, currentStep: 1, canaryWeight: 50 };

/** The status the operator stored after the previous pass at `at` on the same observations: nothing new since. */
function settled(at: number, route: RouteObservation): CanaryReleaseStatus {
  return decide(spec, atStep0, { generation: 1, route, metrics: {} }, new Date(T0 + at * 1000)).status;
}

const conflict: KubeError = { kind: 'Conflict', status: 409, message: 'the object has been modified' };
const down: KubeError = { kind: 'Unavailable', status: 503, message: 'apiserver said 503' };
const gone: KubeError = { kind: 'NotFound', status: 404, message: 'canaryreleases "reviews" not found' };

// ---------------------------------------------------------------------------------------------
// Fakes at the edges
// ---------------------------------------------------------------------------------------------

/** The CanaryRelease as the apiserver holds it: reads, status writes and Events. */
class FakeStore implements ReleaseReader, StatusWriter, EventRecorder {
  reads = 0;
  readonly statusWrites: CanaryReleaseStatus[] = [];
  readonly events: { type: string; reason: string; note: string }[] = [];
  private rv = 1;

  constructor(
    private obj: CanaryReleaseObject,
    private readonly statusResults: KubeError[] = [],
  ) {}

  /** Whether each read asked for the apiserver rather than a cache. */
  readonly fresh: string[] = [];
  async getRelease(_ref: ObjectRef, opts?: ReadOptions): Promise<Result<CanaryReleaseObject, KubeError>> {
    this.reads++;
    this.fresh.push(`release ${opts?.fresh === true}`);
    return ok(structuredClone(this.obj));
  }
  async readiness(_ref: ObjectRef, opts?: ReadOptions): Promise<Result<Readiness, KubeError>> {
    this.fresh.push(`deployment ${opts?.fresh === true}`);
    return ok({ ready: true, message: '2/2 available', replicas: 2 });
  }
  readonly scales: { deployment: string; replicas: number }[] = [];
  async scaleDeployment(ref: ObjectRef, replicas: number): Promise<Result<void, KubeError>> {
    this.scales.push({ deployment: ref.name, replicas });
    return ok(undefined);
  }
  async writeStatus(
    _ref: ObjectRef,
    resourceVersion: string,
    _previous: unknown,
    next: CanaryReleaseStatus,
  ): Promise<Result<StatusWrite, KubeError>> {
    this.statusWrites.push(next);
    const refused = this.statusResults.shift();
    if (refused) return err(refused);
    expect(resourceVersion).toBe(this.obj.metadata.resourceVersion);
    this.rv++;
    this.obj = {
      ...this.obj,
      metadata: { ...this.obj.metadata, resourceVersion: String(this.rv) },
      status: next,
    };
    return ok({ written: true, resourceVersion: String(this.rv) });
  }
  async emitEvent(_s: EventSubject, type: 'Normal' | 'Warning', reason: string, note: string) {
    this.events.push({ type, reason, note });
    return ok(undefined);
  }
}

/** A VirtualService route that moves only when written; `results` answer the writes in turn (ok when empty). */
class FakeRouter implements TrafficRouter {
  readonly writes: RouteAction['type'][][] = [];
  constructor(
    private observation: RouteObservation,
    private readonly results: RouterError[] = [],
  ) {}

  readonly fresh: boolean[] = [];
  /** What getRoutes answers instead of the observation (a refused write of an owned VirtualService). */
  readFailure?: KubeError;
  async getRoutes(_t: RouteTarget, opts?: ReadOptions): Promise<Result<RouteSnapshot, KubeError>> {
    this.fresh.push(opts?.fresh === true);
    if (this.readFailure) return err(this.readFailure);
    return ok({ observation: this.observation, resourceVersion: '5' });
  }
  async apply(
    _t: RouteTarget,
    snapshot: RouteSnapshot,
    actions: readonly RouteAction[],
  ): Promise<Result<RouteSnapshot, RouterError>> {
    this.writes.push(actions.map((a) => a.type));
    const refused = this.results.shift();
    if (refused) return err(refused);
    for (const a of actions) {
      if (a.type === 'SetRoutes' && this.observation.found)
        this.observation = {
          ...this.observation,
          stableWeight: a.stableWeight,
          canaryWeight: a.canaryWeight,
        };
    }
    return ok({ ...snapshot, observation: this.observation });
  }
}

/** Prometheus answering every query with `value`. */
class FakeMetrics implements AnalysisMetrics {
  readonly queries: string[] = [];
  constructor(private readonly value: number) {}
  async query(promql: string): Promise<MetricResult> {
    this.queries.push(promql);
    return ok(this.value);
  }
  async builtin(metric: BuiltinMetric, vars: QueryVars): Promise<MetricResult> {
    this.queries.push(`${metric} ${vars.workload}`);
    return ok(this.value);
  }
}

const fixedClock = (t: number): Clock => ({ now: () => t, setTimer: () => 0, clearTimer: () => undefined });

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly spec?: unknown;
  readonly status?: CanaryReleaseStatus;
  readonly route: RouteObservation;
  /** Seconds after T0. */
  readonly at: number;
  readonly routeResults?: RouterError[];
  readonly statusResults?: KubeError[];
  readonly want: {
    /** Reads of the CanaryRelease. */
    readonly reads: number;
    /** The actions of each VirtualService write. */
    readonly routeWrites: RouteAction['type'][][];
    /** Phase and step of each status write. */
    readonly statusWrites: string[];
    readonly queries: string[];
    readonly events: string[];
    /** The ReconcileError's reason, when the pass fails. */
    readonly error?: string;
  };
}

const rows: Row[] = [
  {
    name: 'a step whose check passes advances: one query, one route write, one status write, no Event',
    status: atStep0,
    route: routeAt(20),
    at: 60,
    want: {
      reads: 1,
      routeWrites: [['SetRoutes']],
      statusWrites: ['Progressing 1'],
      queries: ['request-success-rate reviews-v2'],
      events: [],
    },
  },
  {
    name: 'the last step passes: promoted, one route write, one status write and the Promoted Event',
    status: atStep1,
    route: routeAt(50),
    at: 60,
    want: {
      reads: 1,
      routeWrites: [['SetRoutes']],
      statusWrites: ['Succeeded 2'],
      queries: ['request-success-rate reviews-v2'],
      events: ['Normal Promoted'],
    },
  },
  {
    name: 'nothing changed since the last pass: no write at all',
    status: settled(30, routeAt(20)),
    route: routeAt(20),
    at: 30,
    want: { reads: 1, routeWrites: [], statusWrites: [], queries: [], events: [] },
  },
  {
    name: 'a route write that fails leaves the status untouched and records a Warning',
    status: atStep0,
    route: routeAt(20),
    at: 60,
    routeResults: [down],
    want: {
      reads: 1,
      routeWrites: [['SetRoutes']],
      statusWrites: [],
      queries: ['request-success-rate reviews-v2'],
      events: ['Warning RouteUpdateFailed'],
      error: 'RouteUpdateFailed',
    },
  },
  {
    name: 'a route write refused as a conflict: read again, decide again, write again',
    status: atStep0,
    route: routeAt(20),
    at: 60,
    routeResults: [conflict],
    want: {
      reads: 2,
      routeWrites: [['SetRoutes'], ['SetRoutes']],
      statusWrites: ['Progressing 1'],
      queries: ['request-success-rate reviews-v2', 'request-success-rate reviews-v2'],
      events: [],
    },
  },
  {
    name: 'a status write refused as a conflict: read again; the routes already written are not written twice, the Event recorded once',
    status: atStep1,
    route: routeAt(50),
    at: 60,
    statusResults: [conflict],
    want: {
      reads: 2,
      routeWrites: [['SetRoutes']],
      statusWrites: ['Succeeded 2', 'Succeeded 2'],
      queries: ['request-success-rate reviews-v2', 'request-success-rate reviews-v2'],
      events: ['Normal Promoted'],
    },
  },
  {
    name: 'a status write that fails: the reconcile fails, no Event is recorded for a state not stored',
    status: atStep1,
    route: routeAt(50),
    at: 60,
    statusResults: [down],
    want: {
      reads: 1,
      routeWrites: [['SetRoutes']],
      statusWrites: ['Succeeded 2'],
      queries: ['request-success-rate reviews-v2'],
      events: [],
      error: 'StatusUpdateFailed',
    },
  },
  {
    name: 'a release deleted between the read and the status write is let go: no error, no Event',
    status: atStep0,
    route: routeAt(20),
    at: 60,
    statusResults: [gone],
    want: {
      reads: 1,
      routeWrites: [['SetRoutes']],
      statusWrites: ['Progressing 1'],
      queries: ['request-success-rate reviews-v2'],
      events: [],
    },
  },
  {
    name: 'an invalid spec: no route write, no query, the Invalid status and a Warning',
    spec: { ...spec, steps: [{ setWeight: 120 }] },
    route: routeAt(0),
    at: 0,
    want: {
      reads: 1,
      routeWrites: [],
      statusWrites: ['Invalid 0'],
      queries: [],
      events: ['Warning InvalidSpec'],
    },
  },
];

describe('Reconciler with fakes at the edges', () => {
  test.each(rows)('$name', async (row) => {
    const store = new FakeStore(
      {
        apiVersion: 'delivery.cdk8s-mesh.io/v1alpha1',
        kind: 'CanaryRelease',
        metadata: { ...ref, generation: 1, resourceVersion: '1', uid: 'u1' },
        spec: row.spec ?? spec,
        ...(row.status ? { status: row.status } : {}),
      },
      [...(row.statusResults ?? [])],
    );
    const router = new FakeRouter(row.route, [...(row.routeResults ?? [])]);
    const prometheus = new FakeMetrics(100);
    const r = new Reconciler({
      kube: store,
      router,
      prometheus,
      clock: fixedClock(T0 + row.at * 1000),
      log: silentLogger,
      metrics: new OperatorMetrics(),
    });

    const outcome = await r.reconcile(ref).then(
      (report) => ({ report }),
      (e: unknown) => ({ error: e }),
    );

    if (row.want.error) {
      expect('error' in outcome && outcome.error).toBeInstanceOf(ReconcileError);
      expect('error' in outcome && (outcome.error as ReconcileError).reason).toBe(row.want.error);
    } else if (row.statusResults?.[0]?.kind === 'NotFound') {
      expect(outcome).toStrictEqual({ report: undefined });
    } else {
      expect(outcome).toMatchObject({ report: { statusWritten: row.want.statusWrites.length > 0 } });
    }
    const { error: _error, ...want } = row.want;
    expect({
      reads: store.reads,
      routeWrites: router.writes,
      statusWrites: store.statusWrites.map((s) => `${s.phase} ${s.currentStep}`),
      queries: prometheus.queries,
      events: store.events.map((e) => `${e.type} ${e.reason}`),
    }).toStrictEqual(want);
  });

  test('after a refused write, the release, its route and its Deployments are read fresh, not from a cache', async () => {
    const store = new FakeStore(
      { metadata: { ...ref, generation: 1, resourceVersion: '1' }, spec: withDeployments, status: atStep0 },
      [conflict],
    );
    const router = new FakeRouter(routeAt(20));
    const r = new Reconciler({
      kube: store,
      router,
      prometheus: new FakeMetrics(100),
      clock: fixedClock(T0 + 60_000),
      log: silentLogger,
      metrics: new OperatorMetrics(),
    });
    await r.reconcile(ref);
    expect(store.fresh.sort()).toStrictEqual([
      'deployment false',
      'deployment false',
      'deployment true',
      'deployment true',
      'release false',
      'release true',
    ]);
    expect(router.fresh).toStrictEqual([false, true]);
  });

  test('the Warning of a failed route write names the VirtualService and says the status is kept', async () => {
    const store = new FakeStore({
      metadata: { ...ref, generation: 1, resourceVersion: '1' },
      spec,
      status: atStep0,
    });
    const r = new Reconciler({
      kube: store,
      router: new FakeRouter(routeAt(20), [down]),
      prometheus: new FakeMetrics(100),
      clock: fixedClock(T0 + 60_000),
      log: silentLogger,
      metrics: new OperatorMetrics(),
    });
    await expect(r.reconcile(ref)).rejects.toThrow('apiserver said 503');
    expect(store.events).toStrictEqual([
      {
        type: 'Warning',
        reason: 'RouteUpdateFailed',
        note: 'could not update VirtualService reviews: apiserver said 503; the status is left as it was and the update is retried',
      },
    ]);
  });

  test('fails if the apiserver refuses the VirtualService written from the template: a Warning says what to fix, the status is kept', async () => {
    const template = { spec: { hosts: ['reviews'], http: [{ name: 'primary', route: [] }] } };
    const store = new FakeStore({
      metadata: { ...ref, generation: 1, resourceVersion: '1' },
      spec: { ...spec, virtualService: { name: 'reviews', route: 'primary', template } },
      status: atStep0,
    });
    const router = new FakeRouter(routeAt(20));
    router.readFailure = { kind: 'Invalid', status: 422, message: 'spec.http[0].route: Invalid value' };
    const r = new Reconciler({
      kube: store,
      router,
      prometheus: new FakeMetrics(100),
      clock: fixedClock(T0 + 60_000),
      log: silentLogger,
      metrics: new OperatorMetrics(),
    });
    await expect(r.reconcile(ref)).rejects.toThrow('spec.http[0].route: Invalid value');
    expect(store.statusWrites).toStrictEqual([]);
    expect(store.events).toStrictEqual([
      {
        type: 'Warning',
        reason: 'RouteUpdateFailed',
        note: 'could not write VirtualService reviews from .spec.virtualService.template: spec.http[0].route: Invalid value; correct the template (it must be a valid networking.istio.io/v1 VirtualService spec); the release waits and the write is retried',
      },
    ]);
  });
});
