/** `cdk8s-mesh lint`: the whole-mesh validator over files, directories or a cluster, with istioctl analyze's exit codes. */
import { atLeast, formatFinding, type Severity } from '../../mesh/validator/finding.js';
import { summarize, validate } from '../../mesh/validator/validate.js';
import type { CommandContext } from '../io.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit.js';
import { inputOptions, loadMesh, reportProblems } from '../input.js';

const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export async function run({ args, values, io, json }: CommandContext): Promise<number> {
  const threshold = String(values['failure-threshold']).toLowerCase() as Severity;
  if (!SEVERITIES.includes(threshold))
    throw new UsageError(`--failure-threshold must be error, warning or info (got ${threshold})`);
  const input = await loadMesh(io, args, {
    ...inputOptions(values),
    ...(typeof values.calls === 'string' ? { calls: values.calls } : {}),
  });
  const { model } = input;
  const suppress = String(values.suppress ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const findings = validate(model, { suppress });
  const notes = [
    ...input.notes,
    ...model.skipped.map((s) => `${s.where}: kind ${s.kind} is not part of the mesh model: skipped`),
  ];
  if (json) {
    io.out(
      `${JSON.stringify({ findings, parseErrors: input.problems, notes, summary: summarize(findings) }, null, 2)}\n`,
    );
  } else {
    reportProblems(io, input.problems);
    for (const n of notes) io.err(`Note: ${n}\n`);
    for (const f of findings) io.out(`${formatFinding(f)}\n`);
    const s = summarize(findings);
    const istioObjects =
      model.virtualServices.length +
      model.destinationRules.length +
      model.gateways.length +
      model.authorizationPolicies.length +
      model.peerAuthentications.length;
    io.out(
      findings.length
        ? `${s.error} error(s), ${s.warning} warning(s), ${s.info} info(s) in ${istioObjects} Istio object(s)\n`
        : `✔ No validation issues found${input.problems.length ? ` (but ${input.problems.length} document(s) could not be read)` : ''}.\n`,
    );
  }
  if (findings.some((f) => atLeast(f.severity, threshold))) return EXIT.findings;
  return input.problems.length ? EXIT.parseError : EXIT.ok;
}
