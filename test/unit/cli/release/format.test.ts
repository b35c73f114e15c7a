/** The release views as text: table, detail, progress line and their pieces. */
import {
  formatDetail,
  formatMs,
  formatPercent,
  formatTable,
  humanAge,
  progressBar,
  progressLine,
} from '../../../../cli/release/format.js';
import { viewOf } from '../../../../cli/release/view.js';
import { NOW, measured, release } from './fixtures.js';

describe('formatting', () => {
  test.each([
    [0, 4, '[░░░░░░░░░░]'],
    [1, 4, '[███░░░░░░░]'],
    [2, 4, '[█████░░░░░]'],
    [4, 4, '[██████████]'],
  ])('progress bar at step %i of %i', (currentStep, totalSteps, bar) => {
    expect(progressBar({ phase: 'Progressing', currentStep, totalSteps }, 10)).toBe(bar);
  });

  test('a promoted release shows a full bar', () => {
    expect(progressBar({ phase: 'Succeeded', currentStep: 3, totalSteps: 4 }, 4)).toBe('[████]');
  });

  test.each([
    [0, '0s'],
    [59_999, '59s'],
    [200_000, '3m20s'],
    [45 * 60_000, '45m'],
    [125 * 60_000, '2h5m'],
    [30 * 3_600_000, '30h'],
    [80 * 3_600_000, '3d'],
  ])('age %i ms is %s', (ms, text) => expect(humanAge(ms)).toBe(text));

  test('numbers', () => {
    expect(formatPercent(99.7123)).toBe('99.71%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(undefined)).toBe('-');
    expect(formatMs(4.24)).toBe('4.2ms');
    expect(formatMs(120.4)).toBe('120ms');
    expect(formatMs(7012)).toBe('7.01s');
    expect(formatMs(Number.NaN)).toBe('-');
  });

  test('the table: one row per release, gates told apart, exact layout', () => {
    const a = viewOf(release(measured));
    const b = viewOf({
      ...release({ phase: 'Paused', currentStep: 2 }),
      metadata: { ...release(undefined).metadata, name: 'ratings' },
    });
    expect(formatTable([a, b], NOW)).toBe(
      [
        'NAME      PHASE                    STEP   PROGRESS       WEIGHTS           SUCCESS   P99    LAST CHECK     AGE   MESSAGE',
        'reviews   Progressing              1/4    [███░░░░░░░]   v1 75% / v3 25%   99.71%    12ms   pass 10s ago   10m   step 1/4 (setWeight 25): waiting for the first check of this step',
        'ratings   Paused (gate: promote)   2/4    [█████░░░░░]   v1 75% / v3 25%   -         -      -              10m',
      ].join('\n'),
    );
    expect(formatTable([a], NOW, { namespace: true }).split('\n')[0]).toMatch(/^NAMESPACE {3}NAME/);
  });

  test('the detail view: fields, measurements, conditions and history', () => {
    const text = formatDetail(viewOf(release(measured)), NOW);
    expect(text.split('\n').slice(0, 8)).toEqual([
      'CanaryRelease shop/reviews (generation 1)',
      '  Phase       Progressing, step 1/4: setWeight 25',
      '  Progress    [████████░░░░░░░░░░░░░░░░░░░░░░] 1/4',
      '  Weights     v1 75% / v3 25%  (canary revision 1.20.3)',
      '  Success     99.71%  (SLO: at least 99%)',
      '  p99         12ms  (SLO: at most 500ms)',
      '  Last check  passed 10s ago; 0 failed in a row (rolls back at 2)',
      '  Message     step 1/4 (setWeight 25): waiting for the first check of this step',
    ]);
    expect(text).toContain('  request-success-rate   Pass     99.71%   -');
    expect(text).toContain('  request-duration-p99   Pass     12ms     -');
    expect(text).toContain('  Valid   True     SpecValid   9m59s   the spec is valid and its route exists');
    expect(text).toContain('  9m59s ago   Progressing   0/4    10%      Started        the release starts');
    expect(text).toContain(
      '  1m ago      Progressing   1/4    25%      StepAdvanced   step 1/4: setWeight 25',
    );
  });

  test('the detail view tells what to run at a gate', () => {
    const text = formatDetail(viewOf(release({ phase: 'Paused', currentStep: 4, canaryWeight: 50 })), NOW);
    expect(text).toContain('  Phase       Paused (approve: promote), step 4/4: promotion');
    expect(text).toContain('  Waiting     for you: cdk8s-mesh promote reviews -n shop');
  });

  test('the progress line', () => {
    expect(progressLine(viewOf(release(measured)), NOW)).toBe(
      '12:10:00  shop/reviews  Progressing  step 1/4 setWeight 25  [█████░░░░░░░░░░░░░░░]  v1 75% / v3 25%  success 99.71% (min 99%)  p99 12ms (max 500ms)',
    );
  });
});
