/** JSON Patch (RFC 6902) operations as the operator writes them, and their JSON Pointer paths (RFC 6901). */

/** One JSON Patch operation (RFC 6902). */
export type JsonPatchOp =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** The JSON Patch op that makes a write conditional on the object being unchanged since `rv`. */
export function resourceVersionPrecondition(resourceVersion: string): JsonPatchOp {
  return { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion };
}

/** Escapes a key for a JSON Pointer (RFC 6901). */
export function pointerKey(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
