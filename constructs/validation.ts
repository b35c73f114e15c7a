/**
 * Prop validation: every construct checks its props with a zod schema as they arrive, and a bad
 * value fails with the construct path, the field, the value received and what is expected.
 */
import { Duration } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { z } from 'zod';

/** One problem with a construct's props. */
export interface PropIssue {
  /** Dotted path of the field inside the props, e.g. `routes[1].to`. */
  readonly field: string;
  readonly message: string;
  /** The value received, rendered as JSON (truncated). */
  readonly received: string;
}

/** Thrown when a construct's props are invalid; lists every problem of that construct at once. */
export class MeshPropsError extends Error {
  constructor(
    /** Construct path, e.g. `bookinfo/reviews`. */
    readonly path: string,
    readonly issues: readonly PropIssue[],
  ) {
    super(
      `${path}: invalid props\n` +
        issues.map((i) => `  - ${i.field || '(props)'}: ${i.message} (received ${i.received})`).join('\n'),
    );
    this.name = 'MeshPropsError';
  }
}

function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 && !prefix ? String(p) : `.${String(p)}`))
    .reduce((acc, part) => acc + part, prefix);
}

function render(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * zod reports a failed union as a bare "Invalid input" (e.g. an unknown load balancer, or a
 * version object with a bad field). When exactly one alternative got inside the value, or else
 * exactly one got past the type check, its own issues say what is wrong and what is expected:
 * report those instead.
 */
function unwrapUnion(i: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (i.code !== 'invalid_union' || i.message !== 'Invalid input') return [i];
  const inside = i.errors.filter((branch) => branch.some((b) => b.path.length > 0));
  const typed = i.errors.filter(
    (branch) => !branch.some((b) => b.code === 'invalid_type' && b.path.length === 0),
  );
  const branch = inside.length === 1 ? inside[0] : typed.length === 1 ? typed[0] : undefined;
  if (!branch) return [i];
  return branch.flatMap((b) => unwrapUnion({ ...b, path: [...i.path, ...b.path] }));
}

/**
 * Parses `props` with `schema`; throws a {@link MeshPropsError} naming `scope`'s path and every
 * issue otherwise. Returns the parsed value (defaults applied). `field` prefixes the field paths
 * when `props` is one part of a construct's input (e.g. `routes[2]`).
 * @internal
 */
export function checkProps<S extends z.ZodType>(
  scope: IConstruct,
  schema: S,
  props: unknown,
  field = '',
): z.output<S> {
  const res = schema.safeParse(props);
  if (res.success) return res.data;
  const issues = res.error.issues.flatMap(unwrapUnion).map((i) =>
    // A bad record key (e.g. an upper-case header name): zod says only "Invalid key in record" and
    // keeps the reason inside; show the reason, and the key as what was received.
    i.code === 'invalid_key'
      ? {
          field: fieldPath(field, i.path),
          message: i.issues.map((k) => k.message).join('; '),
          received: render(i.path.at(-1)),
        }
      : { field: fieldPath(field, i.path), message: i.message, received: render(at(props, i.path)) },
  );
  throw new MeshPropsError(scope.node.path, issues);
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
