/**
 * The CLI's release commands, against any kubeconfig:
 *
 *   cli status [name] [-n ns | -A] [--kubeconfig p] [--context c] [--output json] [--watch] [--interval 2s]
 *   cli promote <name> [-n ns] …   resume the gate the release waits at (manual pause or promotion approval)
 *   cli resume <name> [-n ns] …    the same, and also a drift hold (writes the operator's weights back)
 *   cli abort <name> [-n ns] …     roll the release back now
 *
 * `promote`, `resume` and `abort` only write the control annotations the operator reads
 * (`delivery.cdk8s-mesh.io/resume` = `<observedGeneration>/<currentStep>`,
 * `delivery.cdk8s-mesh.io/abort` = `<generation>`), decided from the status as read and written
 * with that object's resourceVersion as a precondition: when the operator moved on in between,
 * the command reads again and decides again instead of approving a step nobody looked at.
 *
 * Formatting is pure (`viewOf`, `formatTable`, `formatDetail`, `progressLine`, `planResume`,
 * `planAbort`) and unit-tested; the commands are proven against the real apiserver.
 */
import * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import {
  ABORT_ANNOTATION,
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  RESUME_ANNOTATION,
  durationMs,
  parseSpec,
  readCommands,
  resumeValue,
  type CanaryReleaseSpec,
  type CanaryReleaseStatus,
  type Condition,
  type HistoryEntry,
  type Measurement,
  type Phase,
} from '../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  KubeClient,
  type CanaryReleaseObject,
  type KubeError,
} from '../operator/adapters/kubernetes.js';
import { describeStep, planSteps } from '../operator/core/plan.js';
import {
  ConditionType,
  LATENCY_P99,
  Reason,
  SUCCESS_RATE,
  isFinishedPhase,
  isTerminalPhase,
} from '../api/v1alpha1/constants.js';
import { CommandError, UsageError } from './errors.js';

/** Exit codes of the release commands, beside the CLI's 0 (ok) and 1 (tool failure). */
export const RELEASE_EXIT = {
  /** The release is not in a state the command applies to (e.g. `promote` while not at a gate). */
  refused: 3,
  /** The release (or the CanaryRelease kind) does not exist. */
  notFound: 4,
  /** `status <name> --watch` saw the release end RolledBack or Invalid. */
  releaseFailed: 5,
} as const;

/** What the commands write to; `tty`, `columns` and `signal` only matter to `status --watch`. */
export interface ReleaseIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Redraw the watch frame in place (ANSI) instead of printing one line per change. */
  readonly tty?: boolean;
  /** Terminal width; watch lines are cut to it so that redrawing stays exact. @default 120 */
  readonly columns?: number;
  /** Ends `--watch` (exit 0). */
  readonly signal?: AbortSignal;
}

/** The parsed options the release commands read (a subset of the CLI's). */
export interface ReleaseOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly allNamespaces?: boolean;
  readonly watch?: boolean;
  /** Poll interval of `--watch`, a duration such as `2s`. @default '2s' */
  readonly interval?: string;
  readonly json: boolean;
}

// ---------------------------------------------------------------------------------------------
// The view of one release: everything `status` shows, derived from the object alone
// ---------------------------------------------------------------------------------------------

/** What resume would open now. */
export type Gate =
  /** A `pause` step without a duration. */
  | 'manual'
  /** The last gate: approval to promote (`promotion.manualApproval`, or a plan ending in a gate). */
  | 'promotion'
  /** The route's weights drifted and `driftPolicy: Hold` holds: resume writes them back. */
  | 'drift';

/** One release as `status` shows it (also the `--output json` shape). */
export interface ReleaseView {
  readonly namespace: string;
  readonly name: string;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly createdAt?: string;
  /** The status phase; `Pending` while the operator has not written a status yet. */
  readonly phase: Phase | 'Pending';
  readonly currentStep: number;
  readonly totalSteps: number;
  /** The current step in words (`setWeight 25`, `pause (manual gate)`, `promotion`, `promoted`). */
  readonly step: string;
  readonly stable: { readonly subset?: string; readonly weight: number };
  readonly canary: { readonly subset?: string; readonly weight: number; readonly revision?: string };
  /** Last measured canary success rate, percent. */
  readonly successRate?: number;
  /** The SLO's minimum, percent. */
  readonly successRateMin?: number;
  /** Last measured canary p99 latency, milliseconds. */
  readonly latencyP99Ms?: number;
  /** The SLO's maximum, e.g. `500ms`. */
  readonly latencyP99Max?: string;
  readonly lastCheckAt?: string;
  readonly lastCheckPassed?: boolean;
  readonly consecutiveFailures: number;
  /** Failed checks in a row that roll back. */
  readonly threshold?: number;
  /** The gate resume would open now, if any. */
  readonly gate?: Gate;
  /** Whether the resume annotation already opens that gate (the operator has not acted yet). */
  readonly resumed: boolean;
  /** Whether an abort of this generation is already requested. */
  readonly abortRequested: boolean;
  readonly message?: string;
  readonly lastMeasurements: readonly Measurement[];
  readonly conditions: readonly Condition[];
  readonly history: readonly HistoryEntry[];
  /** Problems of an invalid spec (`field: message`). */
  readonly specProblems?: readonly string[];
}

/** Whether a release has ended (Succeeded, RolledBack or Invalid: the terminal phases). */
export function isFinished(v: Pick<ReleaseView, 'phase'>): boolean {
  return isTerminalPhase(v.phase);
}

/** The view of one CanaryRelease object as read from the apiserver. */
export function viewOf(obj: CanaryReleaseObject): ReleaseView {
  const md = obj.metadata;
  const st = (obj.status ?? undefined) as Partial<CanaryReleaseStatus> | undefined;
  const parsed = parseSpec(obj.spec);
  const spec: CanaryReleaseSpec | undefined = parsed.ok ? parsed.spec : undefined;
  const raw = (obj.spec ?? {}) as {
    stable?: { subset?: string };
    canary?: { subset?: string; revision?: string };
  };
  const steps = spec ? planSteps(spec) : [];
  const phase: ReleaseView['phase'] = st?.phase ?? 'Pending';
  const currentStep = st?.currentStep ?? 0;
  const totalSteps = st?.totalSteps ?? steps.length;
  const canaryWeight = st?.canaryWeight ?? 0;
  const step =
    phase === 'Succeeded'
      ? 'promoted'
      : phase === 'RolledBack'
        ? 'rolled back'
        : phase === 'Invalid'
          ? 'invalid spec'
          : phase === 'Pending'
            ? 'waiting for the operator'
            : currentStep >= totalSteps
              ? 'promotion'
              : steps.length
                ? describeStep(steps[currentStep])
                : `step ${currentStep}`;
  const measurements = st?.lastMeasurements ?? [];
  const p99 = measurements.find((m) => m.name === LATENCY_P99 && m.value !== undefined);
  const conditions = st?.conditions ?? [];
  const progressing = conditions.find((c) => c.type === ConditionType.Progressing);
  const running = phase === 'Progressing' || phase === 'Paused' || phase === 'Initializing';
  const gate: Gate | undefined =
    phase === 'Paused'
      ? currentStep >= totalSteps
        ? 'promotion'
        : 'manual'
      : running && progressing?.reason === Reason.WeightsDrifted
        ? 'drift'
        : undefined;
  const commands = readCommands(md.annotations);
  const og = st?.observedGeneration;
  const successRate = st?.successRate ?? measurements.find((m) => m.name === SUCCESS_RATE)?.value;
  return {
    namespace: md.namespace ?? 'default',
    name: md.name,
    ...(md.generation !== undefined ? { generation: md.generation } : {}),
    ...(og !== undefined ? { observedGeneration: og } : {}),
    ...(md.creationTimestamp ? { createdAt: md.creationTimestamp } : {}),
    phase,
    currentStep,
    totalSteps,
    step,
    stable: { ...(raw.stable?.subset ? { subset: raw.stable.subset } : {}), weight: 100 - canaryWeight },
    canary: {
      ...(raw.canary?.subset ? { subset: raw.canary.subset } : {}),
      weight: canaryWeight,
      ...(raw.canary?.revision ? { revision: raw.canary.revision } : {}),
    },
    ...(successRate !== undefined ? { successRate } : {}),
    ...(spec?.analysis.successRate ? { successRateMin: spec.analysis.successRate.min } : {}),
    ...(p99?.value !== undefined ? { latencyP99Ms: p99.value } : {}),
    ...(spec?.analysis.latencyP99 ? { latencyP99Max: spec.analysis.latencyP99.max } : {}),
    ...(st?.lastCheckAt ? { lastCheckAt: st.lastCheckAt } : {}),
    ...(st?.lastCheckPassed !== undefined ? { lastCheckPassed: st.lastCheckPassed } : {}),
    consecutiveFailures: st?.consecutiveFailures ?? 0,
    ...(spec ? { threshold: spec.analysis.threshold } : {}),
    ...(gate ? { gate } : {}),
    resumed:
      gate !== undefined &&
      og !== undefined &&
      commands.resume?.generation === og &&
      commands.resume.step === currentStep,
    abortRequested: md.generation !== undefined && commands.abort?.generation === md.generation,
    ...(st?.message ? { message: st.message } : progressing?.message ? { message: progressing.message } : {}),
    lastMeasurements: measurements,
    conditions,
    history: st?.history ?? [],
    ...(parsed.ok ? {} : { specProblems: parsed.problems.map((p) => `${p.field}: ${p.message}`) }),
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

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

const cut = (s: string, n: number) => ([...s].length > n ? `${[...s].slice(0, n - 1).join('')}…` : s);

/** The phase, with what it waits for when it waits at a gate. */
function phaseText(v: ReleaseView): string {
  if (v.gate === 'promotion') return `${v.phase} (approve: promote)`;
  if (v.gate === 'manual') return `${v.phase} (gate: promote)`;
  if (v.gate === 'drift') return `${v.phase} (drift: resume)`;
  return v.phase;
}

/** The table of several releases (`cli status`). */
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

/** Everything about one release (`cli status <name>`). */
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
        ? `cli resume ${v.name} -n ${v.namespace}   (writes the operator's weights back)`
        : `cli promote ${v.name} -n ${v.namespace}`;
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

// ---------------------------------------------------------------------------------------------
// promote / resume / abort: what to write, decided from the object as read
// ---------------------------------------------------------------------------------------------

/** The decision of promote/resume/abort: an annotation to write, nothing to do, or a refusal. */
export type Plan =
  | { readonly kind: 'write'; readonly annotation: string; readonly value: string; readonly what: string }
  | { readonly kind: 'already'; readonly annotation: string; readonly value: string; readonly what: string }
  | { readonly kind: 'refuse'; readonly message: string };

const ref = (v: ReleaseView) => `${KIND} ${v.namespace}/${v.name}`;
const watchHint = (v: ReleaseView) => `cli status ${v.name} -n ${v.namespace}`;

function notRunning(v: ReleaseView, command: string): string | undefined {
  if (v.phase === 'Pending')
    return `${ref(v)} has no status yet: the operator has not acted on it. Check that the operator runs and watches namespace ${v.namespace}, then retry \`cli ${command}\``;
  if (v.phase === 'Invalid')
    return `${ref(v)} is Invalid, so the operator does not act on it: ${v.specProblems?.[0] ?? v.message ?? 'see its conditions'}. Fix the spec (\`${watchHint(v)}\` lists the problems)`;
  if (isFinishedPhase(v.phase))
    return `${ref(v)} has already finished (${v.phase}${v.phase === 'Succeeded' ? `: ${v.canary.subset ?? 'the canary'} takes all traffic` : ''}): there is nothing to ${command}. A new release starts when its canary revision, subsets or route change`;
  if (v.generation !== undefined && v.observedGeneration !== v.generation)
    return `${ref(v)} is at generation ${v.generation} but its status is for generation ${v.observedGeneration}: the operator has not seen the latest spec yet (a spec change restarts the release). Wait a moment and retry \`cli ${command}\``;
  return undefined;
}

/**
 * What `promote` (or `resume`, which also opens a drift hold) writes: the resume annotation
 * `<observedGeneration>/<currentStep>` when the release waits at a gate; a refusal that says why
 * and what to do otherwise.
 */
export function planResume(v: ReleaseView, command: 'promote' | 'resume'): Plan {
  const blocked = notRunning(v, command);
  if (blocked) return { kind: 'refuse', message: blocked };
  const gate = v.gate;
  if (!gate || (gate === 'drift' && command === 'promote')) {
    const why =
      gate === 'drift'
        ? `it is holding because someone else changed its route's weights (driftPolicy Hold), not at a gate. Restore the weights, or run \`cli resume ${v.name} -n ${v.namespace}\` to write the operator's weights back`
        : `it is ${v.phase} at step ${stepOf(v)} (${v.step}) and advances by itself${v.message ? ` (${v.message})` : ''}. Promote when \`${watchHint(v)}\` shows it Paused at a gate, or abort it with \`cli abort ${v.name} -n ${v.namespace}\``;
    return { kind: 'refuse', message: `${ref(v)} is not waiting at a gate: ${why}` };
  }
  const value = resumeValue(v.observedGeneration ?? 0, v.currentStep);
  const what =
    gate === 'promotion'
      ? `approved the promotion (step ${stepOf(v)}): ${v.canary.subset ?? 'the canary'} takes all traffic once the last check passes`
      : gate === 'manual'
        ? `opened the manual gate at step ${stepOf(v)}: the release advances once a check in this step passes`
        : `resumed step ${stepOf(v)}: the operator writes its weights (${weightsOf(v)}) back and goes on`;
  return { kind: v.resumed ? 'already' : 'write', annotation: RESUME_ANNOTATION, value, what };
}

/** What `abort` writes: the abort annotation with the generation, unless the release has ended. */
export function planAbort(v: ReleaseView): Plan {
  if (isTerminalPhase(v.phase)) return { kind: 'refuse', message: notRunning(v, 'abort')! };
  const value = String(v.generation ?? 0);
  const what = `requested the abort of generation ${value}: the operator sends all traffic to ${v.stable.subset ?? 'stable'} at its next reconcile`;
  return { kind: v.abortRequested ? 'already' : 'write', annotation: ABORT_ANNOTATION, value, what };
}

// ---------------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------------

/** Loads `path` (or $KUBECONFIG, ~/.kube/config, in-cluster) and selects `context`. */
export function loadKubeConfig(path: string | undefined, context: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const where =
    path ?? (process.env.KUBECONFIG ? `$KUBECONFIG (${process.env.KUBECONFIG})` : '~/.kube/config');
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    throw new CommandError(
      `cannot load the kubeconfig from ${where}: ${(e as Error).message}; pass --kubeconfig <path> or set KUBECONFIG`,
      1,
    );
  }
  if (context) {
    if (!kc.getContextObject(context))
      throw new CommandError(
        `context "${context}" is not in the kubeconfig ${where} (contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
        1,
      );
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster())
    throw new CommandError(
      `the kubeconfig ${where} names no current cluster; pass --kubeconfig <path> or --context <name>`,
      1,
    );
  return kc;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The namespace to use: `-n`, else the context's, else `default`. */
export function namespaceOf(kc: k8s.KubeConfig, flag: string | undefined): string {
  const ns = flag ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  if (!DNS_LABEL.test(ns) || ns.length > 63)
    throw new UsageError(
      `--namespace must be one namespace name (lowercase letters, digits, '-'), got "${ns}"`,
    );
  return ns;
}

/** A Kubernetes failure as a message that says what, where and what to do, with its exit code. */
export function kubeFailure(e: KubeError, kc: k8s.KubeConfig, what: string): CommandError {
  const server = kc.getCurrentCluster()?.server ?? 'the cluster';
  switch (e.kind) {
    case 'NotFound':
      return new CommandError(`${what}: not found on ${server} (${e.message})`, RELEASE_EXIT.notFound);
    case 'Forbidden':
      return new CommandError(
        `${what}: the kubeconfig's user may not do this on ${server} (${e.message}); ask for RBAC on ${PLURAL}.${GROUP} (get, list, patch) or use another --context`,
        1,
      );
    case 'Unavailable':
      return new CommandError(
        `${what}: cannot reach the apiserver at ${server} (${e.message}); check that the cluster is up and that --kubeconfig/--context point at it`,
        1,
      );
    default:
      return new CommandError(`${what}: the apiserver at ${server} refused it (${e.message})`, 1);
  }
}

function notFoundRelease(client: KubeClient, kc: k8s.KubeConfig, namespace: string, name: string) {
  return async (e: KubeError): Promise<CommandError> => {
    if (e.kind !== 'NotFound') return kubeFailure(e, kc, `reading ${KIND} ${namespace}/${name}`);
    const list = await client.list(CANARY_RELEASES, namespace);
    if (!list.ok && list.error.kind === 'NotFound')
      return new CommandError(
        `the cluster at ${kc.getCurrentCluster()?.server} does not serve ${KIND} (${API_VERSION}): install the CRD (npm run synth writes it to dist/install) and the operator`,
        RELEASE_EXIT.notFound,
      );
    const names = list.ok ? list.value.items.map((i) => i.metadata.name) : [];
    return new CommandError(
      `${KIND} ${namespace}/${name} not found${names.length ? ` (in ${namespace}: ${names.join(', ')})` : ` (namespace ${namespace} has none)`}; check the name and -n, or list them all with \`cli status -A\``,
      RELEASE_EXIT.notFound,
    );
  };
}

async function getView(client: KubeClient, kc: k8s.KubeConfig, namespace: string, name: string) {
  const res = await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace, name });
  if (!res.ok) throw await notFoundRelease(client, kc, namespace, name)(res.error);
  return { obj: res.value, view: viewOf(res.value) };
}

async function listViews(client: KubeClient, kc: k8s.KubeConfig, namespace: string | undefined) {
  const res = await client.list<CanaryReleaseObject>(CANARY_RELEASES, namespace);
  if (!res.ok) {
    if (res.error.kind === 'NotFound')
      throw new CommandError(
        `the cluster at ${kc.getCurrentCluster()?.server} does not serve ${KIND} (${API_VERSION}): install the CRD (npm run synth writes it to dist/install) and the operator`,
        RELEASE_EXIT.notFound,
      );
    throw kubeFailure(res.error, kc, `listing ${KIND}s${namespace ? ` in ${namespace}` : ''}`);
  }
  return res.value.items
    .map(viewOf)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** The parts of a view that change only when the release does (not with the clock). */
const signature = (v: ReleaseView) => JSON.stringify({ ...v, createdAt: undefined });

/** `cli status [name]`; returns the exit code. */
export async function statusCommand(
  names: readonly string[],
  o: ReleaseOptions,
  io: ReleaseIo,
): Promise<number> {
  if (names.length > 1)
    throw new UsageError(`status takes at most one release name (got ${names.join(' ')})`);
  const name = names[0];
  if (name && o.allNamespaces) throw new UsageError('give a release name or --all-namespaces, not both');
  const intervalMs = durationMs(o.interval ?? '2s');
  if (!intervalMs)
    throw new UsageError(`--interval must be a duration such as 2s or 500ms (got ${o.interval})`);
  const kc = loadKubeConfig(o.kubeconfig, o.context);
  const namespace = o.allNamespaces ? undefined : namespaceOf(kc, o.namespace);
  const client = new KubeClient(kc);
  const load = async () =>
    name ? [(await getView(client, kc, namespace!, name)).view] : await listViews(client, kc, namespace);

  const render = (views: readonly ReleaseView[], now: Date) => {
    if (name) return formatDetail(views[0]!, now);
    if (!views.length)
      return o.allNamespaces
        ? `No ${KIND}s in any namespace.`
        : `No ${KIND}s in namespace ${namespace}. (Try -A for all namespaces.)`;
    return formatTable(views, now, { namespace: !!o.allNamespaces });
  };

  if (!o.watch) {
    const views = await load();
    if (o.json) io.out(`${JSON.stringify(name ? views[0] : { items: views }, null, 2)}\n`);
    else io.out(`${render(views, new Date())}\n`);
    return 0;
  }

  // --watch: poll; a TTY redraws the frame in place, a pipe gets one line (or JSON) per change.
  const seen = new Map<string, string>();
  let drawn = 0;
  let lastError = '';
  const columns = Math.max(40, io.columns ?? 120);
  for (;;) {
    let views: ReleaseView[];
    try {
      views = await load();
      lastError = '';
    } catch (e) {
      // A vanished release ends the watch; a hiccup of the apiserver is reported once and retried.
      if (e instanceof CommandError && e.exitCode === RELEASE_EXIT.notFound) throw e;
      if (!(e instanceof CommandError)) throw e;
      if (e.message !== lastError) io.err(`${e.message} (retrying every ${o.interval ?? '2s'})\n`);
      lastError = e.message;
      await sleep(intervalMs, io.signal);
      if (io.signal?.aborted) return 0;
      continue;
    }
    const now = new Date();
    if (io.tty && !o.json) {
      const frame = render(views, now)
        .split('\n')
        .map((l) => cut(l, columns - 1));
      io.out(`${drawn ? `\x1b[${drawn}F\x1b[J` : ''}${frame.join('\n')}\n`);
      drawn = frame.length;
    } else {
      for (const v of views) {
        const key = `${v.namespace}/${v.name}`;
        const sig = signature(v);
        if (seen.get(key) === sig) continue;
        seen.set(key, sig);
        io.out(o.json ? `${JSON.stringify(v)}\n` : `${progressLine(v, now)}\n`);
      }
    }
    if (name && isFinished(views[0]!)) {
      const v = views[0]!;
      if (!o.json) io.err(`${ref(v)} ended ${v.phase}: ${v.message ?? ''}\n`);
      return v.phase === 'Succeeded' ? 0 : RELEASE_EXIT.releaseFailed;
    }
    await sleep(intervalMs, io.signal);
    if (io.signal?.aborted) return 0;
  }
}

/** `cli promote|resume|abort <name>`; returns the exit code. */
export async function controlCommand(
  command: 'promote' | 'resume' | 'abort',
  names: readonly string[],
  o: ReleaseOptions,
  io: ReleaseIo,
): Promise<number> {
  if (names.length !== 1)
    throw new UsageError(
      `${command} takes exactly one release name (got ${names.length ? names.join(' ') : 'none'})`,
    );
  if (o.allNamespaces) throw new UsageError(`${command} acts on one release: use -n <namespace>, not -A`);
  if (o.watch)
    throw new UsageError(`--watch is for status; run \`cli status ${names[0]} --watch\` after ${command}`);
  const name = names[0]!;
  const kc = loadKubeConfig(o.kubeconfig, o.context);
  const namespace = namespaceOf(kc, o.namespace);
  const client = new KubeClient(kc);

  // Decide on the object as read and write with its resourceVersion; on a conflict (the operator
  // wrote in between) read again and decide again.
  for (let attempt = 1; ; attempt++) {
    const { obj, view } = await getView(client, kc, namespace, name);
    const plan = command === 'abort' ? planAbort(view) : planResume(view, command);
    if (plan.kind === 'refuse') throw new CommandError(plan.message, RELEASE_EXIT.refused);
    const report = (written: boolean) => {
      if (o.json)
        io.out(
          `${JSON.stringify({ namespace, name, command, written, annotation: { [plan.annotation]: plan.value }, phase: view.phase, currentStep: view.currentStep, totalSteps: view.totalSteps, message: plan.what }, null, 2)}\n`,
        );
      else
        io.out(
          written
            ? `${ref(view)}: ${plan.what}.\n  wrote ${plan.annotation}=${plan.value}; follow it with \`${watchHint(view)} --watch\`\n`
            : `${ref(view)}: already done (${plan.annotation}=${plan.value}); the operator has not acted on it yet. Follow it with \`${watchHint(view)} --watch\`\n`,
        );
      return 0;
    };
    if (plan.kind === 'already') return report(false);
    const res = await client.mergePatch(
      CANARY_RELEASES,
      { namespace, name },
      {
        metadata: {
          resourceVersion: obj.metadata.resourceVersion,
          annotations: { [plan.annotation]: plan.value },
        },
      },
    );
    if (res.ok) {
      const after = (res.value.metadata.annotations ?? {})[plan.annotation];
      if (!isDeepStrictEqual(after, plan.value))
        throw new CommandError(`${ref(view)}: the annotation did not stick (read back ${after})`, 1);
      return report(true);
    }
    if ((res.error.kind === 'Conflict' || res.error.status === 409) && attempt < 5) continue;
    throw kubeFailure(res.error, kc, `annotating ${KIND} ${namespace}/${name}`);
  }
}
