/**
 * An object's `spec` against its CRD's openAPI schema (made
 * from Istio 1.30's CRDs), with ajv, as the apiserver checks it: fields of the wrong type, values
 * out of range or not in an enum, missing required fields, and unknown fields (which
 * `kubectl apply` refuses with its default strict field validation). The validators are ajv's,
 * and generated as code (./crd-validators.gen.ts, by scripts/crd-schemas.ts): nothing compiles at run time.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as generated from './crd-validators.gen.js';

type Schema = Record<string, unknown>;

const KINDS: Readonly<Record<string, number>> = generated.KINDS;
const SCHEMAS: readonly Schema[] = generated.SCHEMAS;
const validators = generated as unknown as Readonly<Record<string, ValidateFunction>>;

/** The key of an object's schema: `group/version/Kind`. */
export const schemaKey = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

/** Whether a schema is known for `apiVersion` and `kind` (`networking.istio.io/v1`, `VirtualService`). */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return Object.hasOwn(KINDS, schemaKey(apiVersion, kind));
}

/** Every group and version whose kinds have schemas, e.g. `networking.istio.io/v1`. */
export function schemaGroups(): Set<string> {
  return new Set(Object.keys(KINDS).map((k) => k.slice(0, k.lastIndexOf('/'))));
}

const MAX_MESSAGES = 8;

/** The problems of `spec` (already pruned of nulls) against the schema of `apiVersion`/`kind`; empty when it fits. */
export function checkSpec(apiVersion: string, kind: string, spec: unknown): string[] {
  const key = schemaKey(apiVersion, kind);
  if (!Object.hasOwn(KINDS, key)) return [];
  const index = KINDS[key]!;
  const validate = validators[`v${index}`]!;
  if (validate(spec)) return [];
  return describeErrors(validate.errors ?? [], SCHEMAS[index]!, spec);
}

/** What a JSON pointer (`#/properties/http/items` or `/http/0`) points to in `root`. */
function at(root: unknown, pointer: string): unknown {
  let v = root;
  for (const raw of pointer.replace(/^#/, '').split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** `spec.http[0].route[0].destination.host` for ajv's `/http/0/route/0/destination/host`. */
export function fieldPath(instancePath: string, root = 'spec'): string {
  let out = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_][\w-]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value as a message shows it: short, on one line. */
export function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…" (${String(v).length} characters)` : s;
}

function describe(e: ErrorObject, schema: Schema, spec: unknown): string | undefined {
  const where = fieldPath(e.instancePath);
  const own = e.schemaPath.slice(0, e.schemaPath.lastIndexOf('/'));
  const parent = at(schema, own) as Schema | undefined;
  const custom = parent?.['x-message'];
  const data = at(spec, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
    case 'required':
      return `${where}: missing required field ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`;
    case 'type':
      return `${where}: must be ${(e.params as { type: string }).type} (got ${shown(data)})`;
    case 'enum':
      return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')} (got ${shown(data)})`;
    case 'oneOf': {
      // Istio's unions: [{ not: { anyOf: [{ required: [a] }, …] } }, { required: [a] }, …]
      const fields = ((parent?.oneOf as Schema[] | undefined) ?? []).flatMap(
        (b) => (b.required as string[] | undefined) ?? [],
      );
      return fields.length
        ? `${where}: set at most one of ${fields.join(', ')}`
        : `${where}: must match exactly one of its alternatives`;
    }
    case 'anyOf': {
      const types = ((parent?.anyOf as Schema[] | undefined) ?? []).map((b) => b.type);
      return types.every((t) => typeof t === 'string')
        ? `${where}: must be ${types.join(' or ')} (got ${shown(data)})`
        : `${where}: must match one of its alternatives`;
    }
    case 'not':
      return `${where}: ${typeof custom === 'string' ? custom : 'is not allowed here'}`;
    default:
      return `${where}: ${typeof custom === 'string' ? custom : e.message}${typeof data === 'object' ? '' : ` (got ${shown(data)})`}`;
  }
}

/** ajv's errors as short lines: one per field and problem, the first few. */
function describeErrors(errors: readonly ErrorObject[], schema: Schema, spec: unknown): string[] {
  // A union (oneOf/anyOf) reports every branch's error, then its own: only its own is shown.
  const lines = new Set<string>();
  for (const e of errors) {
    if (/\/(?:oneOf|anyOf)\/\d+\//.test(e.schemaPath)) continue; // said by the union's own error
    const d = describe(e, schema, spec);
    if (d) lines.add(d);
  }
  if (!lines.size) {
    const first = errors[0];
    if (first) lines.add(`${fieldPath(first.instancePath)}: ${first.message ?? 'does not match its schema'}`);
  }
  const all = [...lines];
  return all.length > MAX_MESSAGES
    ? [...all.slice(0, MAX_MESSAGES), `… and ${all.length - MAX_MESSAGES} more`]
    : all;
}
