/**
 * decide() over random runs: random specs, random metric results (values, no data, failed
 * queries, NaN), canary readiness, approvals, aborts, outside edits of the weights, spec
 * changes, and crashes between the route write and the status write. The runtime contract
 * simulated here: actions are applied first, then the status is written; a crash loses the
 * status write.
 *
 * Invariants: route weights are integers in [0,100] summing to 100; no step is skipped; a step
 * advances and a release promotes only after a passing check (never on missing data); a manual
 * gate opens only when resumed; `threshold` failures end in a rollback in the same decision; the
 * status is exactly what the apiserver stores (nothing pruned by the CRD schema, JSON-clean);
 * every check decide runs was due by `analysisDue` (so the runtime fetched its metrics); and
 * feeding back the persisted status (a restart at any point) gives the same decision.
 */
import fc from 'fast-check';
import type { JsonSchema } from '../../../api/crd-schema.js';
import {
  parseSpec,
  type CanaryReleaseSpecInput,
  type CanaryReleaseStatus,
  type Step,
} from '../../../api/v1alpha1/canary-release.js';
import { canaryReleaseCrd } from '../../../api/v1alpha1/crd.js';
import { analysisDue, decide } from '../../../operator/core/decide.js';
import type { Action, MetricValue, Observations } from '../../../operator/core/types.js';

const statusSchema = canaryReleaseCrd().spec.versions[0]!.schema.openAPIV3Schema.properties!.status!;

/** What the apiserver keeps of `value` under a structural schema (unknown fields are pruned). */
function prune(value: unknown, schema: JsonSchema): unknown {
  if (Array.isArray(value)) return value.map((v) => prune(v, schema.items ?? {}));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const sub =
      schema.properties?.[k] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) out[k] = prune(v, sub);
  }
  return out;
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 100 }).map((w) => ({ setWeight: w })) },
  { weight: 1, arbitrary: fc.constant({ pause: {} }) },
  { weight: 1, arbitrary: fc.constantFrom('30s', '2m').map((d) => ({ pause: { duration: d } })) },
  {
    weight: 1,
    arbitrary: fc.constant({ headerRoute: { name: 'h', headers: { 'end-user': { exact: 'jason' } } } }),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 100 }).map((p) => ({ mirror: { percentage: p, duration: '1m' } })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({
      faultTest: { abort: { httpStatus: 503, percentage: 10 }, duration: '1m', successRate: { min: 80 } },
    }),
  },
);

const specArb: fc.Arbitrary<CanaryReleaseSpecInput> = fc
  .record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
    short: fc.option(
      fc.record({
        stepWeight: fc.integer({ min: 5, max: 50 }),
        maxWeight: fc.integer({ min: 50, max: 100 }),
      }),
      {
        nil: undefined,
      },
    ),
    threshold: fc.integer({ min: 1, max: 4 }),
    missing: fc.constantFrom<NonNullable<CanaryReleaseSpecInput['analysis']>['missingData']>(
      { policy: 'Hold' },
      { policy: 'Fail' },
      { policy: 'FailAfterDeadline', deadline: '3m' },
    ),
    drift: fc.constantFrom('Hold', 'Reapply', 'RollBack') as fc.Arbitrary<'Hold' | 'Reapply' | 'RollBack'>,
    manualApproval: fc.boolean(),
    compare: fc.boolean(),
  })
  .map((r) => {
    // header route names must be unique
    let n = 0;
    const steps = r.steps.map((s) =>
      s.headerRoute ? { headerRoute: { ...s.headerRoute, name: `h${n++}` } } : s,
    );
    return {
      service: 'reviews',
      stable: { subset: 'v1' },
      canary: { subset: 'v2', deployment: 'reviews-v2' },
      virtualService: { name: 'reviews', route: 'primary' },
      ...(r.short ? r.short : { steps }),
      analysis: {
        interval: '1m',
        threshold: r.threshold,
        successRate: { min: 95 },
        ...(r.compare ? { compareToStable: { maxSuccessRateDrop: 3 } } : {}),
        missingData: r.missing,
      },
      driftPolicy: r.drift,
      promotion: { manualApproval: r.manualApproval },
    };
  });

const metricArb: fc.Arbitrary<MetricValue> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .double({ min: 80, max: 100, noNaN: true })
      .map((v) => ({ kind: 'Value' as const, value: v })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'NoData' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'QueryFailed' as const, error: 'connection refused' }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'Value' as const, value: Number.NaN }) },
);

interface Tick {
  readonly advance: number;
  readonly canary: MetricValue;
  readonly stable: MetricValue;
  readonly ready: boolean;
  readonly resume: boolean;
  readonly abort: boolean;
  readonly edit: number | undefined;
  readonly crash: boolean;
  readonly bump: boolean;
}

const tickArb: fc.Arbitrary<Tick> = fc.record({
  advance: fc.integer({ min: 1, max: 150 }),
  canary: metricArb,
  stable: metricArb,
  ready: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  resume: fc.boolean(),
  abort: fc.oneof({ weight: 40, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  edit: fc.option(fc.integer({ min: 0, max: 100 }), { freq: 15, nil: undefined }),
  crash: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  bump: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** The VirtualService route as the simulated cluster holds it. */
interface World {
  stable: number;
  canary: number;
  headers: Set<string>;
  mirror: number;
  fault: boolean;
}

function apply(world: World, actions: readonly Action[]): void {
  for (const a of actions) {
    if (a.type === 'SetRoutes') {
      world.stable = a.stableWeight;
      world.canary = a.canaryWeight;
    } else if (a.type === 'AddHeaderRoute') world.headers.add(a.name);
    else if (a.type === 'RemoveHeaderRoute') world.headers.delete(a.name);
    else if (a.type === 'SetMirror') world.mirror = a.percentage;
    else if (a.type === 'SetFault') world.fault = true;
    else if (a.type === 'RemoveFault') world.fault = false;
  }
}

function check(spec: CanaryReleaseSpecInput, ticks: readonly Tick[]): void {
  const world: World = { stable: 100, canary: 0, headers: new Set(), mirror: 0, fault: false };
  let persisted: CanaryReleaseStatus | undefined;
  let generation = 1;
  let t = T0;
  const threshold = spec.analysis?.threshold ?? 3;
  let edited = false;
  for (const [i, tick] of ticks.entries()) {
    t += tick.advance * 1000;
    if (tick.edit !== undefined) {
      world.canary = tick.edit;
      world.stable = 100 - tick.edit;
      edited = true;
    }
    if (tick.bump) generation++;
    const step = persisted?.currentStep ?? 0;
    const obs: Observations = {
      generation,
      route: {
        found: true,
        stableWeight: world.stable,
        canaryWeight: world.canary,
        headerRoutes: [...world.headers].sort(),
        mirrorPercentage: world.mirror,
        fault: world.fault,
      },
      canary: { ready: tick.ready },
      metrics: { 'request-success-rate': { canary: tick.canary, stable: tick.stable } },
      commands: {
        ...(tick.resume ? { resume: { generation, step } } : {}),
        ...(tick.abort ? { abort: { generation } } : {}),
      },
    };
    const now = new Date(t);
    const d = decide(spec, persisted, obs, now);
    const where = `tick ${i}`;

    // Restart at this point: the status as stored and read back gives the same decision.
    const stored =
      persisted === undefined ? undefined : JSON.parse(JSON.stringify(prune(persisted, statusSchema)));
    expect(decide(spec, stored, obs, now)).toStrictEqual(d);

    // The runtime fetches metrics only when analysisDue says so: every check decide runs was due.
    if (d.status.lastCheckAt === now.toISOString() && persisted?.lastCheckAt !== d.status.lastCheckAt) {
      const parsed = parseSpec(spec);
      expect([where, parsed.ok && analysisDue(parsed.spec, persisted, now)]).toEqual([where, true]);
    }

    // The status is what the apiserver stores: nothing pruned, nothing JSON would change.
    expect(prune(d.status, statusSchema)).toStrictEqual(d.status);
    expect(JSON.parse(JSON.stringify(d.status))).toStrictEqual(d.status);

    // Weights: integers in [0,100] summing to 100.
    for (const a of d.actions) {
      if (a.type === 'SetRoutes') {
        expect([where, Number.isInteger(a.canaryWeight), a.canaryWeight + a.stableWeight]).toEqual([
          where,
          true,
          100,
        ]);
        expect(a.canaryWeight).toBeGreaterThanOrEqual(0);
        expect(a.canaryWeight).toBeLessThanOrEqual(100);
      }
    }
    expect(Number.isInteger(d.status.canaryWeight)).toBe(true);

    const sameRelease =
      persisted && persisted.observedGeneration === generation && persisted.phase !== 'Invalid';
    if (sameRelease && persisted) {
      // No step skipped.
      expect(d.status.currentStep).toBeLessThanOrEqual(persisted.currentStep + 1);
      const advanced =
        d.status.currentStep === persisted.currentStep + 1 ||
        (d.status.phase === 'Succeeded' && persisted.phase !== 'Succeeded');
      if (advanced && d.status.phase !== 'RolledBack') {
        // Only after a passing check: never on missing data or a failure.
        expect(d.status.lastMeasurements?.length).toBeGreaterThan(0);
        expect(d.status.lastMeasurements!.every((m) => m.result === 'Pass')).toBe(true);
        // A manual gate opens only when resumed for this generation and step.
        if (persisted.phase === 'Paused') expect(tick.resume).toBe(true);
      }
      // threshold failures in a row roll back in the same decision.
      if (
        d.status.consecutiveFailures >= threshold &&
        persisted.phase !== 'RolledBack' &&
        persisted.phase !== 'Succeeded'
      ) {
        expect(d.status.phase).toBe('RolledBack');
        expect(d.actions.some((a) => a.type === 'RollBack')).toBe(true);
      }
    }

    // A crash between the route write and the status write is never mistaken for drift.
    if (!edited) {
      expect(d.actions.filter((a) => a.type === 'EmitEvent' && a.reason === 'WeightsDrifted')).toEqual([]);
    }

    // The runtime: act, then write the status; a crash loses the status write.
    apply(world, d.actions);
    // A rollback always leaves all traffic on stable; a promotion all on the canary.
    if (d.status.phase === 'RolledBack' && d.actions.some((a) => a.type === 'RollBack')) {
      expect([world.stable, world.canary]).toEqual([100, 0]);
    }
    if (d.actions.some((a) => a.type === 'Promote')) expect([world.stable, world.canary]).toEqual([0, 100]);
    if (!tick.crash) persisted = d.status;
    expect(world.stable + world.canary).toBe(100);
  }
}

describe('decide over random runs', () => {
  test('invariants hold and any restart point gives the same decision', () => {
    fc.assert(
      fc.property(specArb, fc.array(tickArb, { minLength: 1, maxLength: 60 }), (spec, ticks) =>
        check(spec, ticks),
      ),
      { numRuns: 300 },
    );
  });

  test('with healthy metrics and approvals, every release is promoted, passing every step in order', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const world: World = { stable: 100, canary: 0, headers: new Set(), mirror: 0, fault: false };
        let s: CanaryReleaseStatus | undefined;
        const seen: number[] = [];
        for (let i = 0; i < 200 && s?.phase !== 'Succeeded'; i++) {
          const d = decide(
            spec,
            s,
            {
              generation: 1,
              route: {
                found: true,
                stableWeight: world.stable,
                canaryWeight: world.canary,
                headerRoutes: [...world.headers],
                mirrorPercentage: world.mirror,
                fault: world.fault,
              },
              metrics: {
                'request-success-rate': {
                  canary: { kind: 'Value', value: 99.9 },
                  stable: { kind: 'Value', value: 99.9 },
                },
              },
              commands: { resume: { generation: 1, step: s?.currentStep ?? 0 } },
            },
            new Date(T0 + i * 60_000),
          );
          apply(world, d.actions);
          s = d.status;
          if (seen.at(-1) !== s.currentStep) seen.push(s.currentStep);
        }
        expect(s?.phase).toBe('Succeeded');
        expect(seen).toEqual(Array.from({ length: s!.totalSteps + 1 }, (_, k) => k));
        expect(world).toStrictEqual({ stable: 0, canary: 100, headers: new Set(), mirror: 0, fault: false });
      }),
      { numRuns: 200 },
    );
  });
});
