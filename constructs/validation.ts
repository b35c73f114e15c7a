/**
 * Prop validation: every construct checks its props with a zod schema as they arrive, and a bad
 * value fails with the construct path, the field, the value received and what is expected.
 */
import { Duration } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import type { InputProblem } from '../api/input-problem.js';
import { describeIssues, withReceived } from '../api/zod-issues.js';

/** One problem with a construct's props: the field inside the props, what is wrong, what was received. */
export type PropIssue = InputProblem;

/** Thrown when a construct's props are invalid; lists every problem of that construct at once. */
export class MeshPropsError extends Error {
  constructor(
    /** Construct path, e.g. `bookinfo/reviews`. */
    readonly path: string,
    readonly issues: readonly PropIssue[],
  ) {
    super(
      `${path}: invalid props\n` +
        issues.map((i) => `  - ${i.field || '(props)'}: ${withReceived(i)}`).join('\n'),
    );
    this.name = 'MeshPropsError';
  }
}

/**
 * Parses `props` with `schema`; throws a {@link MeshPropsError} naming `scope`'s path and every
 * issue otherwise. Returns the parsed value (defaults applied). `field` prefixes the field paths
 * when `props` is one part of a construct's input (e.g. `routes[2]`).
 * @internal
 */
export function checkProps<S extends z.ZodType>(
  scope: Pick<IConstruct, 'node'> | { readonly node: { readonly path: string } },
  schema: S,
  props: unknown,
  field = '',
): z.output<S> {
  const res = schema.safeParse(props);
  if (res.success) return res.data;
  const issues = describeIssues(res.error.issues, props, field);
  throw new MeshPropsError(scope.node.path, issues);
}

/**
 * Where a construct with `id` under `scope` will be, before it exists: for checking a construct's
 * props before its constructor may touch `this` (a subclass's, ahead of `super`).
 * @internal
 */
export function childPath(scope: IConstruct, id: string): { readonly node: { readonly path: string } } {
  return { node: { path: scope.node.path ? `${scope.node.path}/${id}` : id } };
}

/** Kubernetes DNS-1123 label: what names of Services, namespaces and subsets must be. @internal */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-"')
  .max(63, 'must be at most 63 characters');

/** A percentage in [0, 100]. @internal */
export const percentage = z
  .number()
  .min(0, 'a percentage must be between 0 and 100')
  .max(100, 'a percentage must be between 0 and 100');

/** A TCP port. @internal */
export const portNumber = z.number().int('a port must be an integer').min(1).max(65535);

/** A cdk8s Duration (durations are never bare numbers of seconds). @internal */
export const duration = z.custom<Duration>((v) => v instanceof Duration, {
  error: 'expected a cdk8s Duration, e.g. Duration.seconds(7)',
});
