/** The release views as text: the table, the detail of one release, the one-line progress, and their pieces. */
import { KIND } from '../../api/v1alpha1/canary-release.js';
import { SUCCESS_RATE } from '../../api/v1alpha1/constants.js';
import { PROGRAM } from '../io.js';
import { isFinished, type ReleaseView } from './view.js';

/** `CanaryRelease ns/name`. */
export const ref = (v: ReleaseView) => `${KIND} ${v.namespace}/${v.name}`;
/** The command that shows the release. */
export const watchHint = (v: ReleaseView) => `${PROGRAM} status ${v.name} -n ${v.namespace}`;

/** `[████████░░░░░░░░]` for `done` of `total` (a finished release shows full). */
export function progressBar(
  v: Pick<ReleaseView, 'phase' | 'currentStep' | 'totalSteps'>,
  width = 20,
): string {
  const f =
    v.phase === 'Succeeded'
      ? 1
      : v.totalSteps > 0
        ? Math.min(1, Math.max(0, v.currentStep / v.totalSteps))
        : 0;
  const done = Math.round(f * width);
  return `[${'█'.repeat(done)}${'░'.repeat(width - done)}]`;
}

/** `12s`, `3m20s`, `45m`, `2h5m`, `3d`: like kubectl's AGE. */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 10) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const ago = (iso: string | undefined, now: Date) => (iso ? humanAge(now.getTime() - Date.parse(iso)) : '-');

/** `99.71%`, `100%`. */
export function formatPercent(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return `${Number(v.toFixed(2))}%`;
}

/** `4.2ms`, `120ms`, `1.5s`. */
export function formatMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (v >= 1000) return `${Number((v / 1000).toFixed(2))}s`;
  return v < 10 ? `${Number(v.toFixed(1))}ms` : `${Math.round(v)}ms`;
}

/** `step 2/7` (the operator's numbering: the index of the step and the number of steps). */
export function stepOf(v: Pick<ReleaseView, 'currentStep' | 'totalSteps'>): string {
  return `${v.currentStep}/${v.totalSteps}`;
}

/** `v1 75% / v3 25%`. */
export function weightsOf(v: Pick<ReleaseView, 'stable' | 'canary'>): string {
  return `${v.stable.subset ?? 'stable'} ${v.stable.weight}% / ${v.canary.subset ?? 'canary'} ${v.canary.weight}%`;
}

/** Left-aligned columns separated by three spaces, like kubectl. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** `s` cut to `n` characters, with an ellipsis. */
export const cut = (s: string, n: number) => ([...s].length > n ? `${[...s].slice(0, n - 1).join('')}…` : s);

/** The phase, with what it waits for when it waits at a gate. */
function phaseText(v: ReleaseView): string {
  if (v.gate === 'promotion') return `${v.phase} (approve: promote)`;
  if (v.gate === 'manual') return `${v.phase} (gate: promote)`;
  if (v.gate === 'drift') return `${v.phase} (drift: resume)`;
  return v.phase;
}

/** The table of several releases (`cdk8s-mesh status`). */
export function formatTable(
  views: readonly ReleaseView[],
  now: Date,
  opts: { namespace?: boolean } = {},
): string {
  const head = [
    ...(opts.namespace ? ['NAMESPACE'] : []),
    'NAME',
    'PHASE',
    'STEP',
    'PROGRESS',
    'WEIGHTS',
    'SUCCESS',
    'P99',
    'LAST CHECK',
    'AGE',
    'MESSAGE',
  ];
  const rows = views.map((v) => [
    ...(opts.namespace ? [v.namespace] : []),
    v.name,
    phaseText(v),
    stepOf(v),
    progressBar(v, 10),
    weightsOf(v),
    formatPercent(v.successRate),
    formatMs(v.latencyP99Ms),
    v.lastCheckAt ? `${v.lastCheckPassed ? 'pass' : 'fail'} ${ago(v.lastCheckAt, now)} ago` : '-',
    ago(v.createdAt, now),
    cut(v.message ?? '', 80),
  ]);
  return table([head, ...rows]);
}

/** One line per release, for logs and pipes: time, name, phase, step, bar, weights, SLOs. */
export function progressLine(v: ReleaseView, now: Date = new Date()): string {
  const slo = [
    `success ${formatPercent(v.successRate)}${v.successRateMin !== undefined ? ` (min ${v.successRateMin}%)` : ''}`,
    `p99 ${formatMs(v.latencyP99Ms)}${v.latencyP99Max ? ` (max ${v.latencyP99Max})` : ''}`,
  ].join('  ');
  return [
    now.toISOString().slice(11, 19),
    `${v.namespace}/${v.name}`,
    phaseText(v),
    `step ${stepOf(v)} ${v.step}`,
    progressBar(v),
    weightsOf(v),
    slo,
  ].join('  ');
}

/** Everything about one release (`cdk8s-mesh status <name>`). */
export function formatDetail(v: ReleaseView, now: Date): string {
  const lines: string[] = [];
  const gen =
    v.generation === undefined
      ? ''
      : ` (generation ${v.generation}${v.observedGeneration !== undefined && v.observedGeneration !== v.generation ? `, status for ${v.observedGeneration}` : ''})`;
  lines.push(`${KIND} ${v.namespace}/${v.name}${gen}`);
  const field = (k: string, val: string) => lines.push(`  ${k.padEnd(12)}${val}`);
  field('Phase', `${phaseText(v)}, step ${stepOf(v)}: ${v.step}`);
  field('Progress', `${progressBar(v, 30)} ${stepOf(v)}`);
  field('Weights', weightsOf(v) + (v.canary.revision ? `  (canary revision ${v.canary.revision})` : ''));
  field(
    'Success',
    `${formatPercent(v.successRate)}${v.successRateMin !== undefined ? `  (SLO: at least ${v.successRateMin}%)` : ''}`,
  );
  field('p99', `${formatMs(v.latencyP99Ms)}${v.latencyP99Max ? `  (SLO: at most ${v.latencyP99Max})` : ''}`);
  if (v.lastCheckAt)
    field(
      'Last check',
      `${v.lastCheckPassed ? 'passed' : 'failed'} ${ago(v.lastCheckAt, now)} ago; ${v.consecutiveFailures} failed in a row${v.threshold ? ` (rolls back at ${v.threshold})` : ''}`,
    );
  if (v.message) field('Message', v.message);
  if (v.gate) {
    const how =
      v.gate === 'drift'
        ? `${PROGRAM} resume ${v.name} -n ${v.namespace}   (writes the operator's weights back)`
        : `${PROGRAM} promote ${v.name} -n ${v.namespace}`;
    field('Waiting', v.resumed ? 'resumed; the operator acts at its next check' : `for you: ${how}`);
  }
  if (v.abortRequested && !isFinished(v)) field('Abort', 'requested; the operator rolls back at once');
  for (const p of v.specProblems ?? []) field('Invalid', p);
  const section = (title: string, rows: string[][]) => {
    if (rows.length <= 1) return;
    lines.push(
      '',
      title,
      ...table(rows)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  };
  section('Measurements (last check)', [
    ['NAME', 'RESULT', 'CANARY', 'STABLE', 'MESSAGE'],
    ...v.lastMeasurements.map((m) => {
      const fmt = m.name.includes('duration')
        ? formatMs
        : (x?: number) => (x === undefined ? '-' : String(Number(x.toFixed(3))));
      const rate = m.name.startsWith(SUCCESS_RATE) ? formatPercent : fmt;
      return [m.name, m.result, rate(m.value), rate(m.stableValue), m.message ?? ''];
    }),
  ]);
  section('Conditions', [
    ['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'],
    ...v.conditions.map((c) => [c.type, c.status, c.reason, ago(c.lastTransitionTime, now), c.message]),
  ]);
  section('History (oldest first)', [
    ['TIME', 'PHASE', 'STEP', 'CANARY', 'REASON', 'MESSAGE'],
    ...v.history.map((h) => [
      `${ago(h.time, now)} ago`,
      h.phase,
      `${h.step}/${v.totalSteps}`,
      `${h.canaryWeight}%`,
      h.reason,
      h.message,
    ]),
  ]);
  return lines.join('\n');
}
