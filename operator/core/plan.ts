/**
 * The plan of a release as a list of steps (the short form expanded) and the route state each
 * point of the plan wants. Everything here is derived from the spec and the step index, so a
 * restarted operator recomputes it from `.status.currentStep` alone.
 */
import type { CanaryReleaseSpec, Step } from '../../api/v1alpha1/canary-release.js';
import type { Fault } from './types.js';

/** The steps of `spec`: `spec.steps`, or the short form as `setWeight` steps up to `maxWeight`. */
export function planSteps(spec: CanaryReleaseSpec): readonly Step[] {
  if (spec.steps) return spec.steps;
  const out: Step[] = [];
  const step = spec.stepWeight ?? 100;
  const max = spec.maxWeight ?? 100;
  for (let w = step; w < max; w += step) out.push({ setWeight: w });
  out.push({ setWeight: max });
  return out;
}

/** Canary weight at step `index`: the last `setWeight` at or before it, 0 before any. */
export function weightAt(steps: readonly Step[], index: number): number {
  for (let i = Math.min(index, steps.length - 1); i >= 0; i--) {
    const w = steps[i]!.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The kind of a step, for messages: `setWeight 20`, `pause 1m`, `pause (manual gate)`, … */
export function describeStep(step: Step | undefined): string {
  if (!step) return 'promotion';
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause) return step.pause.duration ? `pause ${step.pause.duration}` : 'pause (manual gate)';
  if (step.headerRoute) return `headerRoute ${step.headerRoute.name}`;
  if (step.mirror) return `mirror ${step.mirror.percentage}%`;
  if (step.faultTest) return `faultTest ${step.faultTest.duration}`;
  return 'unknown step';
}

/** The route state a point of the release wants. */
export interface DesiredRoutes {
  readonly canaryWeight: number;
  /** Header routes by name, in plan order. */
  readonly headerRoutes: readonly NonNullable<Step['headerRoute']>[];
  readonly mirrorPercentage: number;
  readonly fault: Fault | undefined;
}

/** Where the release is, for {@link desiredRoutes}. */
export type Point =
  | { readonly at: 'start' }
  | { readonly at: 'step'; readonly index: number }
  | { readonly at: 'promoted' }
  | { readonly at: 'rolledBack'; readonly index: number; readonly keepHeaderRoutes: boolean };

/**
 * The routes wanted at `point`: the step's weight; the header routes of every step so far; the
 * mirror and fault of the current step only. At the start everything goes to stable; promoted
 * sends everything to the canary; rolled back sends everything to stable.
 */
export function desiredRoutes(steps: readonly Step[], point: Point): DesiredRoutes {
  const headersUpTo = (index: number) =>
    steps.slice(0, index + 1).flatMap((s) => (s.headerRoute ? [s.headerRoute] : []));
  switch (point.at) {
    case 'start':
      return { canaryWeight: 0, headerRoutes: [], mirrorPercentage: 0, fault: undefined };
    case 'promoted':
      return { canaryWeight: 100, headerRoutes: [], mirrorPercentage: 0, fault: undefined };
    case 'rolledBack':
      return {
        canaryWeight: 0,
        headerRoutes: point.keepHeaderRoutes ? headersUpTo(point.index) : [],
        mirrorPercentage: 0,
        fault: undefined,
      };
    case 'step': {
      const step = steps[point.index];
      const ft = step?.faultTest;
      return {
        canaryWeight: weightAt(steps, point.index),
        headerRoutes: headersUpTo(point.index),
        mirrorPercentage: step?.mirror?.percentage ?? 0,
        fault: ft
          ? { ...(ft.delay ? { delay: ft.delay } : {}), ...(ft.abort ? { abort: ft.abort } : {}) }
          : undefined,
      };
    }
  }
}
