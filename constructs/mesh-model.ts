/**
 * The bridge from a construct tree to the mesh model: the objects a Mesh chart synthesizes, each
 * with its construct path as the origin, plus what the Mesh states explicitly (trust domain,
 * namespace, declared calls, versions it declares without deploying). The model itself knows no
 * construct; this file is the only place the two meet. It also runs the validator at synth time.
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { buildModel, type ModelOptions } from '../mesh/model/load.js';
import type { KubeObject, MeshModel, SourcedObject } from '../mesh/model/types.js';
import { formatFinding, type Finding } from '../mesh/validator/finding.js';
import { validate } from '../mesh/validator/validate.js';

/**
 * The synthesized objects of every ApiObject under `scope`, each with its construct path. When the
 * caller already has the scope's synthesized objects (as `chart.toJson()` returned them), they are
 * matched to their ApiObjects by apiVersion, kind, namespace and name instead of rendered again.
 */
export function sourcedObjects(scope: IConstruct, objects?: readonly KubeObject[]): SourcedObject[] {
  const apiObjects = scope.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c));
  if (!objects)
    return apiObjects.map((o) => ({ object: o.toJson() as KubeObject, origin: { path: o.node.path } }));
  const key = (apiVersion: unknown, kind: unknown, namespace: unknown, name: unknown) =>
    `${String(apiVersion)}|${String(kind)}|${String(namespace ?? '')}|${String(name)}`;
  const paths = new Map<string, string>();
  for (const c of apiObjects) paths.set(key(c.apiVersion, c.kind, c.metadata.namespace, c.name), c.node.path);
  return objects.map((object) => {
    const m = object.metadata as { namespace?: string; name?: string } | undefined;
    const path = paths.get(key(object.apiVersion, object.kind, m?.namespace, m?.name)) ?? scope.node.path;
    return { object, origin: { path } };
  });
}

/** The model of `scope`'s objects with the facts its Mesh states. */
export function modelOfScope(
  scope: IConstruct,
  facts: ModelOptions,
  objects?: readonly KubeObject[],
): MeshModel {
  return buildModel(sourcedObjects(scope, objects), facts);
}

/** One line per error: what cdk8s lists under "Validation failed with the following errors". */
export function synthErrorLine(f: Finding): string {
  const mirrors = f.mirrors.length ? ` (like ${f.mirrors.join(', ')})` : '';
  return `${f.code}${mirrors} ${f.where}: ${f.message} — ${f.hint}`;
}

const printed = new WeakMap<IConstruct, string>();

/**
 * Runs every rule over the objects a Mesh chart just synthesized (`Mesh.toJson()` calls it, once
 * per synthesis of the chart, on the objects it is about to return). Throws, listing every error
 * with its construct path, in cdk8s's own validation format; prints the warnings once (set
 * `CDK8S_MESH_WARNINGS=off` to silence them).
 */
export function validateSynthesized(
  scope: IConstruct,
  facts: ModelOptions,
  objects: readonly KubeObject[],
): void {
  const findings = validate(modelOfScope(scope, facts, objects));
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
