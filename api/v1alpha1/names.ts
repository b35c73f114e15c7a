/**
 * The names a client addresses the CanaryRelease kind by: group, version, kind, plural. Kept apart
 * from the schema (./canary-release.ts re-exports them), so that what only needs a name, such as
 * the mesh model recognizing a CanaryRelease among the objects it reads, does not load zod and build
 * the schema.
 */

/** API group of the resources in this folder. */
export const GROUP = 'delivery.cdk8s-mesh.io';
/** API version of this schema. */
export const VERSION = 'v1alpha1';
/** `apiVersion` of a `CanaryRelease` object. */
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Kind of the resource. */
export const KIND = 'CanaryRelease';
/** Plural resource name (URL path segment, CRD name prefix). */
export const PLURAL = 'canaryreleases';
/** Short name for kubectl: `kubectl get crel`. */
export const SHORT_NAMES: readonly string[] = ['crel'];
