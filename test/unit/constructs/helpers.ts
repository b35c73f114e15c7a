/** Shared helpers of the construct tests: synthesize a chart, pick objects, catch an error. */
import { Testing, type Chart } from 'cdk8s';
import { Mesh, type MeshProps } from '../../../constructs/index.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export function synth(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}

export function ofKind(objs: readonly K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

/** The one object of `kind` named `name`; fails the test, listing what there is, otherwise. */
export function one(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind} ${name}, found ${found.length} among ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  }
  return found[0]!;
}

/** `kind/name` of every object, in synthesis order. */
export function names(objs: readonly K8sObject[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.name}`);
}

/** A Mesh chart named `bookinfo` in a fresh test app. */
export function newMesh(props?: MeshProps): Mesh {
  return new Mesh(Testing.app(), 'bookinfo', props);
}

/** The error `fn` throws; fails the test if it throws nothing. */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`, { cause: e });
  }
  throw new Error('expected an error, but nothing was thrown');
}
