/**
 * `decide(spec, status, observations, now)`: the whole behaviour of a release as a pure
 * function. No I/O, no clock, no randomness: time comes in as `now`, and everything that must
 * survive a restart is in the returned status, so feeding back any persisted status gives the
 * same next decision.
 *
 * The rules, in the order they are applied:
 * 1. An invalid spec is never acted on: phase Invalid, condition `Valid=False` naming the field
 *    and the fix, one Warning event per generation, no route action.
 * 2. A new generation restarts a running release from the start (all traffic to stable, then
 *    step 0); on a finished release it starts a new release only when the release identity
 *    (service, subsets, canary revision, route) changed.
 * 3. Abort (annotation) rolls back at once.
 * 4. A missing route holds everything (`Valid=False`, RouteNotFound) without touching anything.
 * 5. A canary Deployment not ready for longer than `progressDeadline` rolls back.
 * 6. An analysis check runs once per interval; `threshold` failed checks in a row roll back at
 *    once, in any step including manual gates. Missing data follows `analysis.missingData`.
 * 7. Weights that differ from what the operator set (and from the step before or after, which a
 *    crash between the route write and the status write leaves) are drift: `driftPolicy`.
 * 8. A step advances (one at a time, never skipping) when its own condition holds and the last
 *    check in the step passed; after the last step the canary is promoted (after approval when
 *    `promotion.manualApproval`). Nothing is promoted or advanced on missing data.
 * 9. Route actions converge the VirtualService to the wanted state of the current point, so
 *    repeating a decision, or a crash at any point, only ever repeats idempotent writes.
 */
import {
  CanaryReleaseStatus,
  HISTORY_LIMIT,
  durationMs,
  parseSpec,
  type CanaryReleaseSpec,
  type Condition,
  type Phase,
  type SpecProblem,
  type Step,
  type WebhookEvent,
} from '../../api/v1alpha1/canary-release.js';
import { runCheck } from './analysis.js';
import { describeStep, desiredRoutes, planSteps, weightAt, type DesiredRoutes, type Point } from './plan.js';
import type { Action, Decision, Observations, RouteObservation } from './types.js';

type Status = CanaryReleaseStatus;
type Draft = { -readonly [K in keyof Status]: Status[K] };
type Progress = { status: Condition['status']; reason: string; message: string };

const TERMINAL: readonly Phase[] = ['Succeeded', 'RolledBack'];

/** The identity of a release: a change of any of these after it finished starts a new one. */
export function releaseKey(spec: CanaryReleaseSpec): string {
  const vs = spec.virtualService;
  return `${spec.service}/${vs.name}/${vs.route}:${spec.stable.subset}->${spec.canary.subset}@${spec.canary.revision ?? ''}`;
}

function setCondition(
  list: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  nowIso: string,
): Condition[] {
  const old = list?.find((x) => x.type === c.type);
  const next: Condition = {
    type: c.type,
    status: c.status,
    observedGeneration: c.observedGeneration,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
    reason: c.reason,
    message: c.message,
  };
  const rest = (list ?? []).filter((x) => x.type !== c.type);
  return [...rest, next].sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type));
}
const ORDER = ['Valid', 'Progressing', 'Healthy'];

function conditionOf(status: Status | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** When the next analysis check of the current step is due: one interval after the step began or the last check. */
function checkDueAt(s: { stepStartedAt: string; lastCheckAt?: string }, interval: number): number {
  return (
    Math.max(Date.parse(s.stepStartedAt), s.lastCheckAt ? Date.parse(s.lastCheckAt) : -Infinity) + interval
  );
}

/**
 * Whether `decide` may run an analysis check at `now` on this stored status, so the runtime
 * queries Prometheus only then. It errs towards true: decide also needs a ready canary, a
 * command may start a new step first (which moves the check later), and a status it cannot read
 * counts as due; so a check never runs on metrics that were not fetched.
 */
export function analysisDue(spec: CanaryReleaseSpec, status: unknown, now: Date): boolean {
  const s = status as { stepStartedAt?: unknown; lastCheckAt?: unknown } | undefined;
  if (typeof s?.stepStartedAt !== 'string' || Number.isNaN(Date.parse(s.stepStartedAt))) return true;
  const last = s.lastCheckAt;
  if (last !== undefined && (typeof last !== 'string' || Number.isNaN(Date.parse(last)))) return true;
  const due = checkDueAt(
    { stepStartedAt: s.stepStartedAt, ...(last ? { lastCheckAt: last } : {}) },
    durationMs(spec.analysis.interval) ?? 60_000,
  );
  return now.getTime() >= due;
}

function withHistory(
  prev: Status | undefined,
  next: Draft,
  reason: string,
  message: string,
  force: boolean,
): Draft {
  const changed = force || !prev || prev.phase !== next.phase || prev.currentStep !== next.currentStep;
  if (!changed) return next;
  const entry = {
    time: next.stepStartedAt,
    phase: next.phase,
    step: next.currentStep,
    canaryWeight: next.canaryWeight,
    reason,
    message: message.slice(0, 1024),
  };
  next.history = [...(next.history ?? []), entry].slice(-HISTORY_LIMIT);
  return next;
}

/** Route actions that take the route as read to `want`. */
function converge(want: DesiredRoutes, route: RouteObservation & { found: true }): Action[] {
  const out: Action[] = [];
  if (route.canaryWeight !== want.canaryWeight || route.stableWeight !== 100 - want.canaryWeight) {
    out.push({ type: 'SetRoutes', stableWeight: 100 - want.canaryWeight, canaryWeight: want.canaryWeight });
  }
  const wanted = new Set(want.headerRoutes.map((h) => h.name));
  for (const name of route.headerRoutes) {
    if (!wanted.has(name)) out.push({ type: 'RemoveHeaderRoute', name });
  }
  for (const h of want.headerRoutes) {
    if (!route.headerRoutes.includes(h.name))
      out.push({ type: 'AddHeaderRoute', name: h.name, headers: h.headers });
  }
  if (route.mirrorPercentage !== want.mirrorPercentage) {
    out.push({ type: 'SetMirror', percentage: want.mirrorPercentage });
  }
  if (want.fault && !route.fault) out.push({ type: 'SetFault', fault: want.fault });
  if (!want.fault && route.fault) out.push({ type: 'RemoveFault' });
  return out;
}

function problemsMessage(problems: readonly SpecProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

/** Status for an invalid spec: nothing is acted on; the condition names the fields and the fix. */
function invalid(
  prev: Status | undefined,
  problems: readonly SpecProblem[],
  gen: number,
  nowIso: string,
): Decision {
  const message =
    `the spec is invalid and is not acted on until it is fixed: ${problemsMessage(problems)}`.slice(0, 1024);
  let conditions = setCondition(
    prev?.conditions,
    { type: 'Valid', status: 'False', observedGeneration: gen, reason: 'InvalidSpec', message },
    nowIso,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Progressing',
      status: 'False',
      observedGeneration: gen,
      reason: 'InvalidSpec',
      message: 'waiting for a valid spec',
    },
    nowIso,
  );
  const base: Draft = prev
    ? { ...prev }
    : {
        observedGeneration: gen,
        release: '',
        phase: 'Invalid',
        currentStep: 0,
        totalSteps: 0,
        canaryWeight: 0,
        stepStartedAt: nowIso,
        consecutiveFailures: 0,
      };
  const next = withHistory(
    prev,
    { ...base, observedGeneration: gen, phase: 'Invalid', message, conditions },
    'InvalidSpec',
    message,
    false,
  );
  const already = prev?.phase === 'Invalid' && prev.observedGeneration === gen;
  const actions: Action[] = already
    ? []
    : [{ type: 'EmitEvent', eventType: 'Warning', reason: 'InvalidSpec', message }];
  return { status: CanaryReleaseStatus.parse(next), actions, requeueAfter: null };
}

/**
 * Decides what a release does next. `spec` and `status` are taken as read from the cluster
 * (validated here; an invalid spec is never acted on, a status that does not parse is reset);
 * `now` is the only clock.
 */
export function decide(spec: unknown, status: unknown, observations: Observations, now: Date): Decision {
  const nowIso = now.toISOString();
  const t = now.getTime();
  const gen = observations.generation;
  const actions: Action[] = [];
  const events: Action[] = [];
  const event = (eventType: 'Normal' | 'Warning', reason: string, message: string) =>
    events.push({ type: 'EmitEvent', eventType, reason, message: message.slice(0, 1024) });

  let prev: Status | undefined;
  if (status !== undefined && status !== null) {
    const p = CanaryReleaseStatus.safeParse(status);
    if (p.success) prev = p.data;
    else {
      const first = p.error.issues[0];
      event(
        'Warning',
        'StatusReset',
        `the status does not parse (.status${first ? first.path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${String(x)}`)).join('') + ': ' + first.message : ''}); the release restarts from the beginning with all traffic on stable`,
      );
    }
  }

  const parsed = parseSpec(spec);
  if (!parsed.ok) {
    const d = invalid(prev, parsed.problems, gen, nowIso);
    return { ...d, actions: [...d.actions, ...events] };
  }
  const sp = parsed.spec;
  const steps = planSteps(sp);
  const last = steps.length; // index of the promotion point
  const release = releaseKey(sp);
  const interval = durationMs(sp.analysis.interval) ?? 60_000;
  const resumeFor = (step: number) =>
    observations.commands?.resume?.generation === gen && observations.commands.resume.step === step;

  const notify = (ev: WebhookEvent, message: string, s: Draft) => {
    for (const w of sp.webhooks ?? []) {
      if (w.events && !w.events.includes(ev)) continue;
      events.push({
        type: 'Notify',
        webhook: w.name,
        url: w.url,
        event: ev,
        message: message.slice(0, 1024),
        step: s.currentStep,
        canaryWeight: s.canaryWeight,
      });
    }
  };

  const fresh = (): Draft => ({
    observedGeneration: gen,
    release,
    phase: 'Initializing',
    currentStep: 0,
    totalSteps: steps.length,
    canaryWeight: 0,
    stepStartedAt: nowIso,
    consecutiveFailures: 0,
    conditions: prev?.conditions,
    history: prev?.history,
  });

  // 2. Generations.
  let s: Draft;
  let restarted = false;
  if (!prev || prev.phase === 'Invalid') {
    s = fresh();
    restarted = true;
  } else if (prev.observedGeneration !== gen) {
    if (TERMINAL.includes(prev.phase) && prev.release === release) {
      s = { ...prev, observedGeneration: gen };
    } else {
      s = fresh();
      restarted = true;
      event('Normal', 'SpecChanged', `generation ${gen}: the release restarts from the beginning`);
    }
  } else {
    s = { ...prev };
  }
  let historyReason = restarted ? 'Started' : 'Progressing';
  let historyMessage = restarted ? 'the release starts' : '';
  let progress: Progress = { status: 'True', reason: 'Progressing', message: '' };
  let valid: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'> = {
    type: 'Valid',
    status: 'True',
    reason: 'SpecValid',
    message: 'the spec is valid and its route exists',
  };
  let point: Point | undefined; // the routes to converge to; undefined: touch nothing
  let requeue: number | null = null;
  const route = observations.route;

  const enter = (index: number) => {
    s.currentStep = index;
    s.stepStartedAt = nowIso;
    delete s.lastCheckAt;
    delete s.lastCheckPassed;
    s.canaryWeight = weightAt(steps, index);
    const manual = index === last || !!(steps[index]?.pause && !steps[index]!.pause!.duration);
    s.phase = manual ? 'Paused' : 'Progressing';
    point = { at: 'step', index };
  };

  const finish = (phase: 'Succeeded' | 'RolledBack', reason: string, message: string) => {
    const reached = s.currentStep;
    s.phase = phase;
    s.stepStartedAt = nowIso;
    s.routesSettled = false;
    delete s.lastCheckAt;
    delete s.lastCheckPassed;
    delete s.missingDataSince;
    delete s.canaryNotReadySince;
    historyReason = reason;
    historyMessage = message;
    progress = { status: 'False', reason, message };
    if (phase === 'Succeeded') {
      s.canaryWeight = 100;
      s.currentStep = last;
      point = { at: 'promoted' };
      actions.push({
        type: 'Promote',
        stableSubset: sp.stable.subset,
        canarySubset: sp.canary.subset,
        ...(sp.canary.revision ? { revision: sp.canary.revision } : {}),
      });
      event('Normal', reason, message);
      notify('Promoted', message, s);
    } else {
      s.canaryWeight = 0;
      point = {
        at: 'rolledBack',
        index: Math.min(reached, last - 1),
        keepHeaderRoutes: sp.rollback.keepHeaderRoutes,
      };
      actions.push({ type: 'RollBack', reason, message });
      event('Warning', reason, message);
      notify('RolledBack', message, s);
    }
    requeue = interval;
  };

  const finished = TERMINAL.includes(s.phase);
  if (finished) {
    // A finished release converges its final routes until they are read back, then lets go.
    const settledAt: Point =
      s.phase === 'Succeeded'
        ? { at: 'promoted' }
        : {
            at: 'rolledBack',
            index: Math.min(s.currentStep, last - 1),
            keepHeaderRoutes: sp.rollback.keepHeaderRoutes,
          };
    const was = conditionOf(prev, 'Progressing');
    progress = was
      ? { status: was.status, reason: was.reason, message: was.message }
      : {
          status: 'False',
          reason: s.phase,
          message: `the release ${s.phase === 'Succeeded' ? 'succeeded' : 'was rolled back'}`,
        };
    if (!s.routesSettled) {
      if (!route.found || converge(desiredRoutes(steps, settledAt), route).length === 0) {
        s.routesSettled = true;
      } else {
        point = settledAt;
        requeue = interval;
      }
    }
  } else if (observations.commands?.abort?.generation === gen) {
    // 3. Abort.
    finish(
      'RolledBack',
      'Aborted',
      `aborted by annotation at step ${s.currentStep} (${describeStep(steps[s.currentStep])}); all traffic goes to stable ${sp.stable.subset}`,
    );
  } else if (!route.found) {
    // 4. Route missing: hold, touch nothing.
    const vs = `VirtualService ${sp.virtualService.name}`;
    const msg =
      route.reason === 'VirtualServiceNotFound'
        ? `.spec.virtualService.name: ${vs} does not exist in this namespace: create it, or name an existing one`
        : `.spec.virtualService.route: ${vs} has no HTTP route named "${sp.virtualService.route}"${route.available?.length ? ` (it has: ${route.available.join(', ')})` : ''}: name one of its routes, or add \`name: ${sp.virtualService.route}\` to the route to drive`;
    valid = { type: 'Valid', status: 'False', reason: route.reason, message: msg };
    progress = { status: 'False', reason: route.reason, message: `holding: ${msg}` };
    if (conditionOf(prev, 'Valid')?.reason !== route.reason) event('Warning', route.reason, msg);
    requeue = interval;
  } else {
    const canaryReady = observations.canary?.ready ?? true;
    if (canaryReady) delete s.canaryNotReadySince;
    else s.canaryNotReadySince ??= nowIso;
    const deadline = durationMs(sp.progressDeadline) ?? 600_000;
    const notReadyFor = s.canaryNotReadySince ? t - Date.parse(s.canaryNotReadySince) : 0;

    if (!canaryReady && notReadyFor >= deadline) {
      // 5. Progress deadline.
      finish(
        'RolledBack',
        'ProgressDeadlineExceeded',
        `canary Deployment ${sp.canary.deployment ?? ''} has not been ready for ${sp.progressDeadline} (progressDeadline)${observations.canary?.message ? `: ${observations.canary.message}` : ''}; all traffic goes to stable ${sp.stable.subset}`,
      );
    } else if (s.phase === 'Initializing') {
      point = { at: 'start' };
      if (canaryReady) {
        enter(0);
        historyReason = 'Started';
        historyMessage = `step 0/${steps.length}: ${describeStep(steps[0])}`;
        event(
          'Normal',
          'Started',
          `release of ${sp.canary.subset}${sp.canary.revision ? ` (${sp.canary.revision})` : ''} started: ${historyMessage}`,
        );
        notify('Started', historyMessage, s);
      } else {
        progress = {
          status: 'True',
          reason: 'CanaryNotReady',
          message: `waiting for canary Deployment ${sp.canary.deployment ?? ''} to be ready${observations.canary?.message ? ` (${observations.canary.message})` : ''}`,
        };
        requeue = Math.min(interval, deadline - notReadyFor);
        // 'Started' is kept for the move into step 0, so a release that waits first reads
        // Initializing → Started in its history, never Started twice.
        if (restarted) historyReason = 'Initializing';
      }
    } else {
      const step: Step | undefined = steps[s.currentStep];
      // 6. Analysis.
      const checkDue = checkDueAt(s, interval);
      let rolledBack = false;
      if (canaryReady && t >= checkDue) {
        const check = runCheck(sp.analysis, step, observations.metrics);
        s.lastCheckAt = nowIso;
        s.lastMeasurements = [...check.measurements];
        if (check.successRate !== undefined) s.successRate = check.successRate;
        if (check.outcome === 'Pass') {
          s.consecutiveFailures = 0;
          s.lastCheckPassed = true;
          delete s.missingDataSince;
        } else {
          s.lastCheckPassed = false;
          let counts = check.outcome === 'Fail';
          if (check.outcome === 'Missing') {
            s.missingDataSince ??= nowIso;
            const md = sp.analysis.missingData;
            counts =
              md.policy === 'Fail' ||
              (md.policy === 'FailAfterDeadline' &&
                t - Date.parse(s.missingDataSince) >= (durationMs(md.deadline ?? '0s') ?? 0));
          } else {
            delete s.missingDataSince;
          }
          const why = check.measurements
            .filter((m) => m.result !== 'Pass')
            .map((m) => m.message ?? `${m.name}: ${m.result}`)
            .join('; ');
          if (counts) {
            s.consecutiveFailures += 1;
            const n = `${s.consecutiveFailures}/${sp.analysis.threshold}`;
            if (s.consecutiveFailures >= sp.analysis.threshold) {
              finish(
                'RolledBack',
                'AnalysisFailed',
                `check failed ${n} times in a row at step ${s.currentStep} (${describeStep(step)}): ${why}; all traffic goes to stable ${sp.stable.subset}`,
              );
              rolledBack = true;
            } else {
              event('Warning', 'CheckFailed', `check failed (${n}) at step ${s.currentStep}: ${why}`);
            }
          }
        }
      }

      if (!rolledBack) {
        // 7. Drift.
        const weightOf = (i: number) =>
          i < 0
            ? 0
            : i >= last
              ? i === last && sp.promotion.manualApproval
                ? weightAt(steps, last)
                : 100
              : weightAt(steps, i);
        const tolerated = [weightOf(s.currentStep - 1), weightOf(s.currentStep), weightOf(s.currentStep + 1)];
        const drifted =
          !restarted &&
          !(
            Number.isInteger(route.canaryWeight) &&
            route.stableWeight === 100 - route.canaryWeight &&
            tolerated.includes(route.canaryWeight)
          );
        let held = false;
        if (drifted) {
          const seen = `the route's weights are stable ${route.stableWeight} / canary ${route.canaryWeight}, expected ${100 - s.canaryWeight} / ${s.canaryWeight}`;
          const policy = resumeFor(s.currentStep) && sp.driftPolicy === 'Hold' ? 'Reapply' : sp.driftPolicy;
          if (policy === 'RollBack') {
            finish(
              'RolledBack',
              'WeightsDrifted',
              `${seen} (driftPolicy RollBack); all traffic goes to stable ${sp.stable.subset}`,
            );
            rolledBack = true;
          } else if (policy === 'Reapply') {
            event(
              'Warning',
              'WeightsDrifted',
              `${seen}; writing them back (driftPolicy ${sp.driftPolicy === 'Hold' ? 'Hold, resumed' : 'Reapply'})`,
            );
          } else {
            held = true;
            const msg = `${seen}: someone else changed the VirtualService. Holding (driftPolicy Hold): restore the weights, or resume step ${s.currentStep} to write them back`;
            progress = { status: 'False', reason: 'WeightsDrifted', message: msg };
            if (conditionOf(prev, 'Progressing')?.reason !== 'WeightsDrifted')
              event('Warning', 'WeightsDrifted', msg);
          }
        }

        if (!rolledBack && !held) {
          // 8. Advance.
          point = { at: 'step', index: s.currentStep };
          const started = Date.parse(s.stepStartedAt);
          const passed = s.lastCheckPassed === true;
          const waitFor = (d: string | undefined) => started + (durationMs(d ?? '0s') ?? 0);
          let due = -Infinity;
          let gate = true;
          if (s.currentStep === last) gate = resumeFor(last);
          else if (step?.pause) {
            if (step.pause.duration) due = waitFor(step.pause.duration);
            else gate = resumeFor(s.currentStep);
          } else if (step?.mirror) due = waitFor(step.mirror.duration);
          else if (step?.faultTest) due = waitFor(step.faultTest.duration);
          // A timed step is judged by a check made once its time is up, so that the end of its
          // window is measured too (a fault test's delayed requests show up late): a check just
          // before the end, with the next one a moment after it, does not stand for the rest.
          const lastCheck = s.lastCheckAt ? Date.parse(s.lastCheckAt) : -Infinity;
          const checkedToEnd = lastCheck >= due;
          const ready = canaryReady && passed && gate && t >= due && checkedToEnd;
          if (ready) {
            const from = s.currentStep;
            if (from + 1 < last || (from + 1 === last && sp.promotion.manualApproval)) {
              enter(from + 1);
              historyReason = 'StepAdvanced';
              historyMessage =
                from + 1 === last
                  ? `all ${last} steps passed; waiting for approval to promote (resume step ${last})`
                  : `step ${from + 1}/${last}: ${describeStep(steps[from + 1])}`;
              event('Normal', 'StepAdvanced', historyMessage);
              notify('StepAdvanced', historyMessage, s);
              if (s.phase === 'Paused')
                notify('WaitingForApproval', `waiting at step ${s.currentStep}: resume it to continue`, s);
            } else {
              finish(
                'Succeeded',
                'Promoted',
                `all ${last} steps passed; ${sp.canary.subset} takes all traffic of route ${sp.virtualService.route}`,
              );
            }
          } else {
            const waits: string[] = [];
            if (!canaryReady)
              waits.push(
                `canary Deployment ${sp.canary.deployment ?? ''} to be ready (rolls back after ${sp.progressDeadline})`,
              );
            if (!gate)
              waits.push(
                `approval: resume step ${s.currentStep} (annotation ${'delivery.cdk8s-mesh.io/resume'}=${gen}/${s.currentStep})`,
              );
            if (t < due) waits.push(`the step's duration to end at ${new Date(due).toISOString()}`);
            else if (passed && !checkedToEnd)
              waits.push(`a check after the step's end, at ${new Date(Math.max(checkDue, t)).toISOString()}`);
            if (!passed) {
              waits.push(
                s.lastCheckPassed === false && s.missingDataSince
                  ? `data for the analysis (missing since ${s.missingDataSince}, policy ${sp.analysis.missingData.policy})`
                  : s.lastCheckPassed === false
                    ? `a passing check (${s.consecutiveFailures}/${sp.analysis.threshold} failed)`
                    : `the first check of this step at ${new Date(checkDue > t ? checkDue : t).toISOString()}`,
              );
            }
            progress = {
              status: 'True',
              reason: !canaryReady
                ? 'CanaryNotReady'
                : !gate
                  ? 'WaitingForApproval'
                  : s.missingDataSince
                    ? 'MissingData'
                    : 'WaitingForAnalysis',
              message: `step ${s.currentStep}/${last} (${describeStep(step)}): waiting for ${waits.join(', ')}`,
            };
          }
          if (s.phase === 'Progressing' || s.phase === 'Paused') requeue = nextDue(s, sp, t, interval);
        } else if (held) {
          requeue = interval;
        }
      }
    }
  }

  if (requeue === null && (s.phase === 'Progressing' || s.phase === 'Paused')) {
    requeue = nextDue(s, sp, t, interval);
  }

  // 9. Converge the routes.
  if (point && route.found) actions.unshift(...converge(desiredRoutes(steps, point), route));

  // Conditions, message, history.
  if (!progress.message) {
    progress = {
      ...progress,
      message: `step ${s.currentStep}/${last} (${describeStep(steps[s.currentStep])})`,
    };
  }
  let conditions = setCondition(s.conditions, { ...valid, observedGeneration: gen }, nowIso);
  conditions = setCondition(
    conditions,
    { type: 'Progressing', observedGeneration: gen, ...progress },
    nowIso,
  );
  const healthy: Omit<Condition, 'lastTransitionTime'> =
    s.lastCheckPassed === undefined
      ? {
          type: 'Healthy',
          status: conditionOf(prev, 'Healthy')?.status ?? 'Unknown',
          observedGeneration: gen,
          reason: conditionOf(prev, 'Healthy')?.reason ?? 'NoCheckYet',
          message: conditionOf(prev, 'Healthy')?.message ?? 'no analysis check has run yet',
        }
      : s.lastCheckPassed
        ? {
            type: 'Healthy',
            status: 'True',
            observedGeneration: gen,
            reason: 'ChecksPassing',
            message: 'the last check passed',
          }
        : {
            type: 'Healthy',
            status: 'False',
            observedGeneration: gen,
            reason: s.missingDataSince ? 'MissingData' : 'ChecksFailing',
            message:
              (s.lastMeasurements ?? [])
                .filter((m) => m.result !== 'Pass')
                .map((m) => m.message ?? m.result)
                .join('; ')
                .slice(0, 1024) || 'the last check did not pass',
          };
  conditions = setCondition(conditions, healthy, nowIso);
  s.conditions = conditions;
  s.message = progress.message.slice(0, 1024);
  s.observedGeneration = gen;
  s.totalSteps = steps.length;
  s.release = release;
  const next = withHistory(prev, s, historyReason, historyMessage || progress.message, restarted && !!prev);

  return {
    status: CanaryReleaseStatus.parse(next),
    actions: [...actions, ...events],
    requeueAfter: requeue,
  };
}

/** Milliseconds until the next thing that can change the decision of a running release. */
function nextDue(s: Draft, sp: CanaryReleaseSpec, t: number, interval: number): number {
  const steps = planSteps(sp);
  const started = Date.parse(s.stepStartedAt);
  const check = Math.max(started, s.lastCheckAt ? Date.parse(s.lastCheckAt) : -Infinity) + interval;
  // A check that was due but skipped (canary not ready) is retried an interval later.
  const at = [check > t ? check : t + interval];
  const step = steps[s.currentStep];
  const d = step?.pause?.duration ?? step?.mirror?.duration ?? step?.faultTest?.duration;
  if (d) at.push(started + (durationMs(d) ?? 0));
  if (s.canaryNotReadySince)
    at.push(Date.parse(s.canaryNotReadySince) + (durationMs(sp.progressDeadline) ?? 0));
  const md = sp.analysis.missingData.deadline;
  if (s.missingDataSince && md) at.push(Date.parse(s.missingDataSince) + (durationMs(md) ?? 0));
  const future = at.filter((x) => x > t);
  return future.length > 0 ? Math.min(...future) - t : interval;
}
