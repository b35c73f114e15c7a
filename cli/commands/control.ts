/** `cdk8s-mesh promote|resume|abort <name>`: open a gate, end a drift hold, or roll back (./release/gates.ts decides and writes). */
import { KubeClient } from '../../operator/adapters/kubernetes.js';
import type { CommandContext } from '../io.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit.js';
import { kubeConfigFor, namespaceOf } from '../kube.js';
import { ref, watchHint } from '../release/format.js';
import { writeGate } from '../release/gates.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export async function run({ command, args: names, values, io, json }: CommandContext): Promise<number> {
  if (command !== 'promote' && command !== 'resume' && command !== 'abort')
    throw new UsageError(`not a release command: ${command}`);
  if (names.length !== 1)
    throw new UsageError(
      `${command} takes exactly one release name (got ${names.length ? names.join(' ') : 'none'})`,
    );
  const name = names[0]!;
  const kc = kubeConfigFor(io, { kubeconfig: str(values.kubeconfig), context: str(values.context) });
  const namespace = namespaceOf(kc, str(values.namespace));
  const { plan, view, written } = await writeGate(new KubeClient(kc), kc, command, namespace, name);
  if (json)
    io.out(
      `${JSON.stringify({ namespace, name, command, written, annotation: { [plan.annotation]: plan.value }, phase: view.phase, currentStep: view.currentStep, totalSteps: view.totalSteps, message: plan.what }, null, 2)}\n`,
    );
  else
    io.out(
      written
        ? `${ref(view)}: ${plan.what}.\n  wrote ${plan.annotation}=${plan.value}; follow it with \`${watchHint(view)} --watch\`\n`
        : `${ref(view)}: already done (${plan.annotation}=${plan.value}); the operator has not acted on it yet. Follow it with \`${watchHint(view)} --watch\`\n`,
    );
  return EXIT.ok;
}
