/**
 * The one reading of zod's issues for a user: where (the field path), what is wrong and expected,
 * and what was received. The constructs' prop errors and the CanaryRelease spec problems (library,
 * operator, CLI) both come from here.
 */
import type { z } from 'zod';
import type { InputProblem } from './input-problem.js';

export type { InputProblem } from './input-problem.js';

type Issue = z.core.$ZodIssue;

/** `['steps', 2, 'setWeight']` under `.spec` → `.spec.steps[2].setWeight`; under `''` → `steps[2].setWeight`. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc === '' ? String(p) : `${acc}.${String(p)}`),
    root,
  );
}

/** A value as a user reads it in a message: JSON cut at 80 characters, `nothing` when unset. */
export function renderValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The message followed by what was received: `must be … (received 120)`. */
export function withReceived(p: InputProblem): string {
  return p.received === undefined ? p.message : `${p.message} (received ${p.received})`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
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
function unwrapUnion(i: Issue): Issue[] {
  if (i.code !== 'invalid_union' || i.message !== 'Invalid input') return [i];
  const inside = i.errors.filter((branch) => branch.some((b) => b.path.length > 0));
  const typed = i.errors.filter(
    (branch) => !branch.some((b) => b.code === 'invalid_type' && b.path.length === 0),
  );
  const branch = inside.length === 1 ? inside[0] : typed.length === 1 ? typed[0] : undefined;
  if (!branch) return [i];
  return branch.flatMap((b) => unwrapUnion({ ...b, path: [...i.path, ...b.path] }));
}

/** What one union alternative expected of the value itself: a type (`string`) or its literal values. */
function expectedForm(branch: readonly Issue[]): string | undefined {
  const own = branch.filter((b) => b.path.length === 0);
  if (own.length !== 1) return undefined;
  const b = own[0]!;
  if (b.code === 'invalid_type') return b.expected;
  if (b.code === 'invalid_value') return b.values.map((v) => JSON.stringify(v)).join(' or ');
  return undefined;
}

/** zod's own wording (as opposed to a message the schema gave) starts like this. */
const ZOD_DEFAULT = 'Invalid input';

function message(i: Issue, value: unknown): string {
  switch (i.code) {
    case 'invalid_type':
      if (!i.message.startsWith(ZOD_DEFAULT)) return i.message;
      return value === undefined ? `is required: expected ${i.expected}` : `expected ${i.expected}`;
    case 'invalid_value':
      if (!i.message.startsWith(ZOD_DEFAULT)) return i.message;
      return `expected ${i.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'unrecognized_keys': {
      const keys = i.keys.map((k) => JSON.stringify(k)).join(', ');
      return i.keys.length === 1
        ? `unknown field ${keys}: remove it or fix its spelling`
        : `unknown fields ${keys}: remove them or fix their spelling`;
    }
    case 'invalid_key':
      return i.issues.map((k) => k.message).join('; ');
    case 'invalid_union': {
      if (i.message !== ZOD_DEFAULT) return i.message;
      const forms = i.errors.map(expectedForm);
      const expected = forms.every((f) => f !== undefined)
        ? `expected ${forms.join(' or ')}`
        : 'matches none of the accepted forms';
      return value === undefined ? `is required: ${expected}` : expected;
    }
    default:
      return i.message;
  }
}

/**
 * Reads zod's `issues` for `input` as problems a user can act on. `root` prefixes the field
 * paths (`.spec`, or `routes[2]` when `input` is one part of a construct's props).
 */
export function describeIssues(issues: readonly Issue[], input: unknown, root = ''): InputProblem[] {
  // A missing union-typed field is reported as missing, not by one of its alternatives.
  const unwrap = (i: Issue) => (valueAt(input, i.path) === undefined ? [i] : unwrapUnion(i));
  return issues.flatMap(unwrap).map((i) => {
    const value = valueAt(input, i.path);
    return {
      field: fieldPath(root, i.path),
      message: message(i, value),
      // A bad record key: what was received is the key, not its value.
      received: renderValue(i.code === 'invalid_key' ? i.path.at(-1) : value),
    };
  });
}
