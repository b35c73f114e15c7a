/**
 * The view of one CanaryRelease: everything `cdk8s-mesh status` shows, derived from the object
 * alone (`viewOf`, pure), and reading it from the apiserver (`getView`, `listViews`), with a
 * message that says what to do when it is not there.
 */
import {
  API_VERSION,
  KIND,
  parseSpec,
  readCommands,
  type CanaryReleaseSpec,
  type CanaryReleaseStatus,
  type Condition,
  type HistoryEntry,
  type Measurement,
  type Phase,
} from '../../api/v1alpha1/canary-release.js';
import type * as k8s from '@kubernetes/client-node';
import {
  CANARY_RELEASES,
  type CanaryReleaseObject,
  type KubeClient,
  type KubeError,
} from '../../operator/adapters/kubernetes.js';
import { describeStep, planSteps } from '../../operator/core/plan.js';
import {
  ConditionType,
  LATENCY_P99,
  Reason,
  SUCCESS_RATE,
  isTerminalPhase,
} from '../../api/v1alpha1/constants.js';
import { PROGRAM } from '../io.js';
import { CommandError } from '../errors.js';
import { EXIT } from '../exit.js';
import { kubeFailure } from '../kube.js';
import { redactUrl } from '../../api/redact.js';

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

/** Whether a release has ended (Succeeded, RolledBack or Invalid). */
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
// Reading it from the cluster
// ---------------------------------------------------------------------------------------------

const notServed = (kc: k8s.KubeConfig) =>
  new CommandError(
    `the cluster at ${redactUrl(kc.getCurrentCluster()?.server ?? '')} does not serve ${KIND} (${API_VERSION}): install the CRD (npm run synth writes it to dist/install) and the operator`,
    EXIT.notFound,
  );

function notFoundRelease(client: KubeClient, kc: k8s.KubeConfig, namespace: string, name: string) {
  return async (e: KubeError): Promise<CommandError> => {
    if (e.kind !== 'NotFound') return kubeFailure(e, kc, `reading ${KIND} ${namespace}/${name}`);
    const list = await client.list(CANARY_RELEASES, namespace);
    if (!list.ok && list.error.kind === 'NotFound') return notServed(kc);
    const names = list.ok ? list.value.items.map((i) => i.metadata.name) : [];
    return new CommandError(
      `${KIND} ${namespace}/${name} not found${names.length ? ` (in ${namespace}: ${names.join(', ')})` : ` (namespace ${namespace} has none)`}; check the name and -n, or list them all with \`${PROGRAM} status -A\``,
      EXIT.notFound,
    );
  };
}

/** One release as read now, with its view. */
export async function getView(client: KubeClient, kc: k8s.KubeConfig, namespace: string, name: string) {
  const res = await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace, name });
  if (!res.ok) throw await notFoundRelease(client, kc, namespace, name)(res.error);
  return { obj: res.value, view: viewOf(res.value) };
}

/** The views of the releases of `namespace` (all namespaces when undefined), sorted. */
export async function listViews(client: KubeClient, kc: k8s.KubeConfig, namespace: string | undefined) {
  const res = await client.list<CanaryReleaseObject>(CANARY_RELEASES, namespace);
  if (!res.ok) {
    if (res.error.kind === 'NotFound') throw notServed(kc);
    throw kubeFailure(res.error, kc, `listing ${KIND}s${namespace ? ` in ${namespace}` : ''}`);
  }
  return res.value.items
    .map(viewOf)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
