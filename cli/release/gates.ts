/**
 * promote / resume / abort: what to write, decided from the object as read (pure: `planResume`,
 * `planAbort`), and writing it (`writeGate`): the control annotations the operator reads
 * (`delivery.cdk8s-mesh.io/resume` = `<observedGeneration>/<currentStep>`,
 * `delivery.cdk8s-mesh.io/abort` = `<generation>`), with that object's resourceVersion as a
 * precondition: when the operator moved on in between, it reads again and decides again instead
 * of approving a step nobody looked at.
 */
import type * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { ABORT_ANNOTATION, KIND, RESUME_ANNOTATION, resumeValue } from '../../api/v1alpha1/canary-release.js';
import { isFinishedPhase, isTerminalPhase } from '../../api/v1alpha1/constants.js';
import { CANARY_RELEASES, type KubeClient } from '../../operator/adapters/kubernetes.js';
import { PROGRAM } from '../io.js';
import { CommandError } from '../errors.js';
import { EXIT } from '../exit.js';
import { kubeFailure } from '../kube.js';
import { redactText } from '../../api/redact.js';
import { ref, stepOf, watchHint, weightsOf } from './format.js';
import { getView, type ReleaseView } from './view.js';

/** The decision of promote/resume/abort: an annotation to write, nothing to do, or a refusal. */
export type Plan =
  | { readonly kind: 'write'; readonly annotation: string; readonly value: string; readonly what: string }
  | { readonly kind: 'already'; readonly annotation: string; readonly value: string; readonly what: string }
  | { readonly kind: 'refuse'; readonly message: string };

function notRunning(v: ReleaseView, command: string): string | undefined {
  if (v.phase === 'Pending')
    return `${ref(v)} has no status yet: the operator has not acted on it. Check that the operator runs and watches namespace ${v.namespace}, then retry \`${PROGRAM} ${command} ${v.name} -n ${v.namespace}\``;
  if (v.phase === 'Invalid')
    return `${ref(v)} is Invalid, so the operator does not act on it: ${v.specProblems?.[0] ?? v.message ?? 'see its conditions'}. Fix the spec (\`${watchHint(v)}\` lists the problems)`;
  if (isFinishedPhase(v.phase))
    return `${ref(v)} has already finished (${v.phase}${v.phase === 'Succeeded' ? `: ${v.canary.subset ?? 'the canary'} takes all traffic` : ''}): there is nothing to ${command}. A new release starts when its canary revision, subsets or route change`;
  if (v.generation !== undefined && v.observedGeneration !== v.generation)
    return `${ref(v)} is at generation ${v.generation} but its status is for generation ${v.observedGeneration}: the operator has not seen the latest spec yet (a spec change restarts the release). Wait a moment and retry \`${PROGRAM} ${command} ${v.name} -n ${v.namespace}\``;
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
        ? `it is holding because someone else changed its route's weights (driftPolicy Hold), not at a gate. Restore the weights, or run \`${PROGRAM} resume ${v.name} -n ${v.namespace}\` to write the operator's weights back`
        : `it is ${v.phase} at step ${stepOf(v)} (${v.step}) and advances by itself${v.message ? ` (${v.message})` : ''}. Promote when \`${watchHint(v)}\` shows it Paused at a gate, or abort it with \`${PROGRAM} abort ${v.name} -n ${v.namespace}\``;
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

/** What a command did: the plan it wrote (or found written), and the view it decided on. */
export interface GateResult {
  readonly plan: Exclude<Plan, { kind: 'refuse' }>;
  readonly view: ReleaseView;
  readonly written: boolean;
}

/**
 * Reads the release, decides, and writes the annotation with the resourceVersion read; on a
 * conflict (the operator wrote in between) reads and decides again. A refusal is a CommandError
 * with exit 3.
 *
 * With `shown` (the resourceVersion of the object a user looked at to decide, as the dashboard
 * sends it), that version is the precondition instead, and a conflict is not decided again: the
 * user decided on what they saw, so the apiserver's 409 comes back (a CommandError with exit 3),
 * saying that nothing was written and to look again.
 */
export async function writeGate(
  client: KubeClient,
  kc: k8s.KubeConfig,
  command: 'promote' | 'resume' | 'abort',
  namespace: string,
  name: string,
  shown?: string,
): Promise<GateResult> {
  for (let attempt = 1; ; attempt++) {
    const { obj, view } = await getView(client, kc, namespace, name);
    const plan = command === 'abort' ? planAbort(view) : planResume(view, command);
    if (plan.kind === 'refuse') throw new CommandError(plan.message, EXIT.refused);
    if (plan.kind === 'already') return { plan, view, written: false };
    const res = await client.mergePatch(
      CANARY_RELEASES,
      { namespace, name },
      {
        metadata: {
          resourceVersion: shown ?? obj.metadata.resourceVersion,
          annotations: { [plan.annotation]: plan.value },
        },
      },
    );
    if (!res.ok && shown !== undefined && (res.error.kind === 'Conflict' || res.error.status === 409))
      throw new CommandError(
        `${ref(view)} changed after it was shown (shown at resourceVersion ${shown}, now ${obj.metadata.resourceVersion ?? 'unknown'}), so the apiserver refused to ${command} it (${redactText(res.error.message)}). Nothing was written: look at the release as it is now and ${command} again if it still applies`,
        EXIT.refused,
      );
    if (res.ok) {
      const after = (res.value.metadata.annotations ?? {})[plan.annotation];
      if (!isDeepStrictEqual(after, plan.value))
        throw new CommandError(
          `${ref(view)}: the annotation did not stick (read back ${after})`,
          EXIT.toolFailure,
        );
      return { plan, view, written: true };
    }
    if ((res.error.kind === 'Conflict' || res.error.status === 409) && attempt < 5) continue;
    throw kubeFailure(res.error, kc, `annotating ${KIND} ${namespace}/${name}`);
  }
}
