/**
 * JSON Patch (RFC 6902) as the apiserver applies it, for the unit tests of the route patches:
 * all operations or none, a failed `test` or a missing target refusing the whole patch. (The same
 * patches against the real apiserver: `test/integration/operator-router.test.ts`.)
 */
import { isDeepStrictEqual } from 'node:util';
import type { JsonPatchOp } from '../../../operator/core/json-patch.js';

function pointer(path: string): string[] {
  return path
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `doc` with `ops` applied (a copy); throws when an operation does not apply, as the apiserver refuses it. */
export function applyPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const root = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const keys = pointer(op.path);
    const last = keys.pop()!;
    let parent: unknown = root;
    for (const k of keys) {
      parent = (parent as Record<string, unknown>)?.[k];
      if (parent === null || typeof parent !== 'object') throw new Error(`${op.op} ${op.path}: no parent`);
    }
    const arr = Array.isArray(parent) ? (parent as unknown[]) : undefined;
    const obj = parent as Record<string, unknown>;
    const index = arr ? (last === '-' ? arr.length : Number(last)) : -1;
    const exists = arr
      ? Number.isInteger(index) && index >= 0 && index < arr.length
      : Object.hasOwn(obj, last);
    const value = 'value' in op ? structuredClone(op.value) : undefined;
    if (op.op !== 'add' && !exists) throw new Error(`${op.op} ${op.path}: nothing there`);
    if (op.op === 'test') {
      if (!isDeepStrictEqual(arr ? arr[index] : obj[last], op.value))
        throw new Error(`test ${op.path} failed`);
    } else if (op.op === 'remove') {
      if (arr) arr.splice(index, 1);
      else delete obj[last];
    } else if (arr) {
      if (!(Number.isInteger(index) && index >= 0 && index <= arr.length))
        throw new Error(`${op.op} ${op.path}: index out of range`);
      arr.splice(index, op.op === 'replace' ? 1 : 0, value);
    } else obj[last] = value;
  }
  return root as unknown as T;
}
