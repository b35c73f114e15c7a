/**
 * The release commands' pure parts: the view of a CanaryRelease, the table, detail and progress
 * formats, what promote/resume/abort decide to write (or refuse), and argument errors that never
 * reach a cluster.
 */
import type { CanaryReleaseStatus } from '../../../api/v1alpha1/canary-release.js';
import { EXIT, run } from '../../../cli/main.js';
import {
  formatDetail,
  formatMs,
  formatPercent,
  formatTable,
  humanAge,
  progressBar,
  progressLine,
} from '../../../cli/release/format.js';
import { planAbort, planResume } from '../../../cli/release/gates.js';
import { viewOf } from '../../../cli/release/view.js';
import type { CanaryReleaseObject } from '../../../operator/adapters/kubernetes.js';

const NOW = new Date('2026-09-01T12:10:00Z');
const T = (s: string) => `2026-09-01T12:${s}Z`;

const spec = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.20.3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { setWeight: 25 }, { pause: {} }, { setWeight: 50 }],
  promotion: { manualApproval: true },
  analysis: { interval: '5s', threshold: 2, successRate: { min: 99 }, latencyP99: { max: '500ms' } },
};

function release(
  status: Partial<CanaryReleaseStatus> | undefined,
  opts: { generation?: number; annotations?: Record<string, string>; spec?: unknown } = {},
): CanaryReleaseObject {
  const st: CanaryReleaseStatus | undefined = status && {
    observedGeneration: 1,
    release: 'reviews/v1/v3/1.20.3',
    phase: 'Progressing',
    currentStep: 1,
    totalSteps: 4,
    canaryWeight: 25,
    stepStartedAt: T('09:00'),
    consecutiveFailures: 0,
    ...status,
  };
  return {
    apiVersion: 'delivery.cdk8s-mesh.io/v1alpha1',
    kind: 'CanaryRelease',
    metadata: {
      name: 'reviews',
      namespace: 'shop',
      generation: opts.generation ?? 1,
      creationTimestamp: T('00:00'),
      resourceVersion: '42',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: opts.spec ?? spec,
    ...(st ? { status: st } : {}),
  };
}

const measured: Partial<CanaryReleaseStatus> = {
  successRate: 99.7123,
  lastCheckAt: T('09:50'),
  lastCheckPassed: true,
  lastMeasurements: [
    { name: 'request-success-rate', result: 'Pass', value: 99.7123 },
    { name: 'request-duration-p99', result: 'Pass', value: 12.44 },
  ],
  message: 'step 1/4 (setWeight 25): waiting for the first check of this step',
  conditions: [
    {
      type: 'Valid',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: T('00:01'),
      reason: 'SpecValid',
      message: 'the spec is valid and its route exists',
    },
  ],
  history: [
    {
      time: T('00:01'),
      phase: 'Progressing',
      step: 0,
      canaryWeight: 10,
      reason: 'Started',
      message: 'the release starts',
    },
    {
      time: T('09:00'),
      phase: 'Progressing',
      step: 1,
      canaryWeight: 25,
      reason: 'StepAdvanced',
      message: 'step 1/4: setWeight 25',
    },
  ],
};

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

describe('arguments', () => {
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  }

  test.each([
    [['promote'], 'promote takes exactly one release name (got none)'],
    [['abort', 'a', 'b'], 'abort takes exactly one release name (got a b)'],
    [['promote', 'reviews', '-A'], 'cdk8s-mesh promote: unknown flag -A'],
    [['promote', 'reviews', '--watch'], 'cdk8s-mesh promote: unknown flag --watch'],
    [['status', 'a', 'b'], 'status takes at most one release name'],
    [['status', 'reviews', '-A'], 'give a release name or --all-namespaces, not both'],
    [
      ['status', '--watch', '--interval', 'soon'],
      '--interval must be a duration such as 2s or 500ms (got soon)',
    ],
  ])('%j is a usage error (exit 1)', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage:');
  });

  test('fails if the kubeconfig does not exist, naming it and what to do', async () => {
    const r = await cli('status', '--kubeconfig', '/nonexistent/kubeconfig');
    expect(r).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: 'cdk8s-mesh status: the kubeconfig /nonexistent/kubeconfig does not exist: check the path given with --kubeconfig\n',
    });
  });

  test('the exit codes are distinct', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(EXIT).toMatchObject({ refused: 3, notFound: 4, releaseFailed: 5 });
  });
});
