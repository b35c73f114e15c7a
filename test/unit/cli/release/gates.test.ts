/** What promote, resume and abort decide to write (or refuse), from the status as read. */
import { planAbort, planResume } from '../../../../cli/release/gates.js';
import { viewOf } from '../../../../cli/release/view.js';
import type { CanaryReleaseStatus } from '../../../../api/v1alpha1/canary-release.js';
import { T, measured, release } from './fixtures.js';

describe('promote, resume and abort decide from the status', () => {
  test('promote at a manual gate writes <observedGeneration>/<currentStep>', () => {
    const v = viewOf(release({ phase: 'Paused', currentStep: 2, observedGeneration: 3 }, { generation: 3 }));
    expect(planResume(v, 'promote')).toEqual({
      kind: 'write',
      annotation: 'delivery.cdk8s-mesh.io/resume',
      value: '3/2',
      what: 'opened the manual gate at step 2/4: the release advances once a check in this step passes',
    });
  });

  test('promote at the promotion approval', () => {
    const p = planResume(viewOf(release({ phase: 'Paused', currentStep: 4 })), 'promote');
    expect(p).toMatchObject({ kind: 'write', value: '1/4' });
    expect(p.kind !== 'refuse' && p.what).toMatch(
      /^approved the promotion \(step 4\/4\): v3 takes all traffic/,
    );
  });

  test('a gate already resumed is not written again', () => {
    const v = viewOf(
      release(
        { phase: 'Paused', currentStep: 2 },
        { annotations: { 'delivery.cdk8s-mesh.io/resume': '1/2' } },
      ),
    );
    expect(v.resumed).toBe(true);
    expect(planResume(v, 'promote').kind).toBe('already');
    // a stale resume of another step does not count
    const stale = viewOf(
      release(
        { phase: 'Paused', currentStep: 2 },
        { annotations: { 'delivery.cdk8s-mesh.io/resume': '1/1' } },
      ),
    );
    expect(planResume(stale, 'promote').kind).toBe('write');
  });

  test.each([
    [
      { phase: 'Progressing' },
      {},
      /is not waiting at a gate: it is Progressing at step 1\/4 \(setWeight 25\) and advances by itself/,
    ],
    [
      { phase: 'Succeeded', currentStep: 4, canaryWeight: 100 },
      {},
      /has already finished \(Succeeded: v3 takes all traffic\): there is nothing to promote/,
    ],
    [{ phase: 'RolledBack', canaryWeight: 0 }, {}, /has already finished \(RolledBack\)/],
    [undefined, {}, /has no status yet: the operator has not acted on it/],
    [
      { phase: 'Paused', currentStep: 2 },
      { generation: 2 },
      /is at generation 2 but its status is for generation 1/,
    ],
  ])('promote refuses %j', (status, opts, message) => {
    const p = planResume(
      viewOf(release(status as Partial<CanaryReleaseStatus> | undefined, opts)),
      'promote',
    );
    expect(p.kind).toBe('refuse');
    expect(p.kind === 'refuse' && p.message).toMatch(message);
  });

  test('a drift hold: promote refuses and points at resume; resume writes', () => {
    const v = viewOf(
      release({
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            lastTransitionTime: T('09:00'),
            reason: 'WeightsDrifted',
            message: 'held',
          },
        ],
      }),
    );
    const p = planResume(v, 'promote');
    expect(p.kind === 'refuse' && p.message).toMatch(
      /run `cdk8s-mesh resume reviews -n shop` to write the operator's weights back/,
    );
    expect(planResume(v, 'resume')).toMatchObject({ kind: 'write', value: '1/1' });
  });

  test('abort writes the generation; refuses a finished release', () => {
    expect(planAbort(viewOf(release(measured, { generation: 1 })))).toMatchObject({
      kind: 'write',
      annotation: 'delivery.cdk8s-mesh.io/abort',
      value: '1',
    });
    expect(planAbort(viewOf(release(undefined)))).toMatchObject({ kind: 'write' });
    expect(
      planAbort(viewOf(release(measured, { annotations: { 'delivery.cdk8s-mesh.io/abort': '1' } }))).kind,
    ).toBe('already');
    const done = planAbort(viewOf(release({ phase: 'Succeeded' })));
    expect(done.kind === 'refuse' && done.message).toMatch(/has already finished \(Succeeded/);
  });
});
