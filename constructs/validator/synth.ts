/**
 * The validator at synth time: a construct validation (cdk8s calls `node.validate()` on every
 * construct during `app.synth()` and `Testing.synth()`) that runs every rule over the objects the
 * scope synthesizes. Errors fail the synth, each with code, construct path, message and hint;
 * warnings go to stderr once (set `CDK8S_MESH_WARNINGS=off` to silence them).
 */
import type { IConstruct } from 'constructs';
import { modelOf } from '../model/from-construct.js';
import type { KubeObject } from '../model/types.js';
import { formatFinding, type Finding } from './finding.js';
import { validate } from './validate.js';

const printed = new WeakMap<IConstruct, string>();

/** One line per error: what cdk8s lists under "Validation failed with the following errors". */
export function synthErrorLine(f: Finding): string {
  const mirrors = f.mirrors.length ? ` (like ${f.mirrors.join(', ')})` : '';
  return `${f.code}${mirrors} ${f.where}: ${f.message} — ${f.hint}`;
}

/**
 * Runs every rule over the objects a Mesh chart just synthesized (`Mesh.toJson()` calls it, once
 * per synthesis of the chart, on the objects it is about to return). Throws, listing every error
 * with its construct path, in cdk8s's own validation format; prints the warnings once.
 */
export function validateSynthesized(scope: IConstruct, objects: readonly KubeObject[]): void {
  const findings = validate(modelOf(scope, {}, objects));
  const warnings = findings.filter((f) => f.severity === 'warning');
  const text = warnings.map(formatFinding).join('\n');
  if (warnings.length && process.env.CDK8S_MESH_WARNINGS !== 'off' && printed.get(scope) !== text) {
    printed.set(scope, text);
    process.stderr.write(`${scope.node.path}: ${warnings.length} warning(s)\n${text}\n`);
  }
  const errors = findings.filter((f) => f.severity === 'error').map(synthErrorLine);
  if (errors.length) {
    throw new Error(
      `Validation failed with the following errors:\n  ${errors.map((e) => `[${scope.node.path}] ${e}`).join('\n  ')}`,
    );
  }
}
