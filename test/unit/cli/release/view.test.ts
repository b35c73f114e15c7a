/** The view of a CanaryRelease, derived from the object alone. */
import { viewOf } from '../../../../cli/release/view.js';
import type { CanaryReleaseStatus } from '../../../../api/v1alpha1/canary-release.js';
import { T, measured, release, spec } from './fixtures.js';

describe('viewOf', () => {
  test('reads phase, step, weights, SLOs and their limits from the object', () => {
    const v = viewOf(release(measured));
    expect(v).toMatchObject({
      namespace: 'shop',
      name: 'reviews',
      phase: 'Progressing',
      currentStep: 1,
      totalSteps: 4,
      step: 'setWeight 25',
      stable: { subset: 'v1', weight: 75 },
      canary: { subset: 'v3', weight: 25, revision: '1.20.3' },
      successRate: 99.7123,
      successRateMin: 99,
      latencyP99Ms: 12.44,
      latencyP99Max: '500ms',
      threshold: 2,
      resumed: false,
      abortRequested: false,
    });
    expect(v.gate).toBeUndefined();
  });

  test.each([
    [{ phase: 'Paused', currentStep: 2 }, 'manual', 'pause (manual gate)'],
    [{ phase: 'Paused', currentStep: 4 }, 'promotion', 'promotion'],
    [
      {
        phase: 'Progressing',
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            lastTransitionTime: T('09:00'),
            reason: 'WeightsDrifted',
            message: 'someone else changed the VirtualService',
          },
        ],
      },
      'drift',
      'setWeight 25',
    ],
  ] as const)('%j waits at gate %s', (status, gate, step) => {
    const v = viewOf(release(status as Partial<CanaryReleaseStatus>));
    expect(v.gate).toBe(gate);
    expect(v.step).toBe(step);
  });

  test('no status yet is Pending; an invalid spec lists its problems', () => {
    expect(viewOf(release(undefined))).toMatchObject({ phase: 'Pending', totalSteps: 4 });
    const bad = viewOf(release({ phase: 'Invalid' }, { spec: { ...spec, steps: [{ setWeight: 120 }] } }));
    expect(bad.phase).toBe('Invalid');
    expect(bad.specProblems?.[0]).toMatch(/^\.spec\.steps\[0\]\.setWeight: must be an integer percentage/);
  });
});
