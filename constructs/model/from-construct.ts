/**
 * The model of a construct tree (a Mesh chart or any scope): every ApiObject under it, as cdk8s
 * would synthesize it, with its construct path as the origin.
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { buildModel, type ModelOptions } from './load.js';
import type { DeclaredCall, KubeObject, MeshModel, SourcedObject, UndeployedSubset } from './types.js';

/** What the model reads from a Mesh (structurally, so the model does not import the Mesh). */
interface MeshLike {
  readonly trustDomain?: string;
  readonly namespace?: string;
  readonly calls?: readonly {
    readonly from: { readonly name: string; readonly namespace: string; readonly principal: string };
    readonly to: { readonly name: string; readonly namespace: string };
    readonly methods?: readonly string[];
    readonly paths?: readonly string[];
  }[];
  /** Apps: their versions, and the Deployments of the versions they deploy. */
  readonly workloads?: readonly {
    readonly name?: unknown;
    readonly namespace?: unknown;
    readonly versions?: unknown;
    readonly deployments?: unknown;
  }[];
}

/** The synthesized objects of every ApiObject under `scope`, each with its construct path. */
export function objectsOf(scope: IConstruct): SourcedObject[] {
  return scope.node
    .findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c))
    .map((o) => ({ object: o.toJson() as KubeObject, origin: { path: o.node.path } }));
}

/**
 * The synthesized objects of a chart (as `chart.toJson()` returned them), each with the construct
 * path of the ApiObject that produced it, matched by apiVersion, kind, namespace and name. This
 * reuses a synthesis instead of rendering every object a second time.
 */
export function sourcedObjects(scope: IConstruct, objects: readonly KubeObject[]): SourcedObject[] {
  const key = (apiVersion: unknown, kind: unknown, namespace: unknown, name: unknown) =>
    `${String(apiVersion)}|${String(kind)}|${String(namespace ?? '')}|${String(name)}`;
  const paths = new Map<string, string>();
  for (const c of scope.node.findAll()) {
    if (ApiObject.isApiObject(c))
      paths.set(key(c.apiVersion, c.kind, c.metadata.namespace, c.name), c.node.path);
  }
  return objects.map((object) => {
    const m = object.metadata as { namespace?: string; name?: string } | undefined;
    const path = paths.get(key(object.apiVersion, object.kind, m?.namespace, m?.name)) ?? scope.node.path;
    return { object, origin: { path } };
  });
}

/**
 * The model of `scope`; a Mesh also gives its trust domain and declared call graph. `objects`
 * are the scope's already synthesized objects, when the caller has them.
 */
export function modelOf(
  scope: IConstruct,
  options: ModelOptions = {},
  objects?: readonly KubeObject[],
): MeshModel {
  const mesh = scope as IConstruct & MeshLike;
  const calls: DeclaredCall[] | undefined = Array.isArray(mesh.calls)
    ? mesh.calls.map((c) => ({
        from: { name: c.from.name, namespace: c.from.namespace, principal: c.from.principal },
        to: { name: c.to.name, namespace: c.to.namespace },
        ...(c.methods ? { methods: c.methods } : {}),
        ...(c.paths ? { paths: c.paths } : {}),
      }))
    : undefined;
  const undeployed: UndeployedSubset[] = [];
  for (const w of Array.isArray(mesh.workloads) ? mesh.workloads : []) {
    if (typeof w.name !== 'string' || typeof w.namespace !== 'string' || !Array.isArray(w.versions)) continue;
    const deployed = (w.deployments ?? {}) as Record<string, unknown>;
    for (const v of w.versions)
      if (typeof v === 'string' && !(v in deployed))
        undeployed.push({ namespace: w.namespace, service: w.name, subset: v });
  }
  return buildModel(objects ? sourcedObjects(scope, objects) : objectsOf(scope), {
    ...(undeployed.length ? { undeployedSubsets: undeployed } : {}),
    ...(typeof mesh.trustDomain === 'string' ? { trustDomain: mesh.trustDomain } : {}),
    ...(typeof mesh.namespace === 'string' ? { defaultNamespace: mesh.namespace } : {}),
    ...(calls ? { calls } : {}),
    ...options,
  });
}
