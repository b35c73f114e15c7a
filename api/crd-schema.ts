/**
 * Turns a zod schema into a Kubernetes *structural* OpenAPI v3 schema for a CRD.
 *
 * zod 4's `z.toJSONSchema(…, { target: 'openapi-3.0' })` is the starting point; Kubernetes then
 * needs: a `type` on every node, no `additionalProperties` beside `properties`, no
 * `oneOf`/`anyOf`/`allOf`/`not`/`$ref`, no ±2^53 integer bounds, and no ECMAScript-only regular
 * expressions (Kubernetes checks `pattern` with Go's RE2). Union types are therefore expressed
 * the Kubernetes way in the zod schemas (an object with exactly-one-of fields plus a CEL rule),
 * and anything the rules forbid makes {@link toStructuralSchema} throw with the path of the node.
 */
import { z } from 'zod';

/** A JSON/OpenAPI schema node, as the CRD holds it. */
export interface JsonSchema {
  [key: string]: unknown;
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
}

const FORBIDDEN = ['oneOf', 'anyOf', 'allOf', 'not', '$ref', '$defs', 'definitions', 'nullable', 'const'];
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const FIRST = ['description', 'type', 'format', 'enum', 'default'];

/** Orders keys for a readable CRD: description and type first, the rest alphabetically. */
function ordered(node: JsonSchema): JsonSchema {
  const keys = Object.keys(node).sort((a, b) => {
    const ia = FIRST.indexOf(a);
    const ib = FIRST.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? FIRST.length : ia) - (ib < 0 ? FIRST.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return Object.fromEntries(keys.map((k) => [k, node[k]])) as JsonSchema;
}

function fix(node: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = { ...node };
  delete out.$schema;
  if (out.additionalProperties === false) delete out.additionalProperties;
  // A node the apiserver keeps as it is (x-kubernetes-preserve-unknown-fields) needs no item schema.
  if (out['x-kubernetes-preserve-unknown-fields'] === true && typeof out.additionalProperties === 'object') {
    if (Object.keys(out.additionalProperties).length === 0) delete out.additionalProperties;
  }
  if (out.type === 'integer') {
    if (out.minimum === -Number.MAX_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  }
  // zod's date-time regex uses ECMAScript syntax; `format: date-time` already says it.
  if (out.format === 'date-time') delete out.pattern;

  for (const key of FORBIDDEN) {
    if (key in out) {
      throw new Error(
        `${path}: '${key}' is not allowed in a Kubernetes structural schema; express unions as an object with exactly-one-of fields and a CEL rule (api/v1alpha1/canary-release.ts: rules())`,
      );
    }
  }
  if (typeof out.type !== 'string' || !TYPES.has(out.type)) {
    throw new Error(
      `${path}: every node of a structural schema needs a type, got ${JSON.stringify(out.type)}; use a zod type that maps to object, array, string, integer, number or boolean`,
    );
  }
  if (out.properties) {
    if (out.additionalProperties !== undefined) {
      throw new Error(`${path}: properties and additionalProperties cannot be used together`);
    }
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, fix(v, `${path}.${k}`)]),
    );
  }
  if (out.items) out.items = fix(out.items, `${path}[]`);
  if (typeof out.additionalProperties === 'object') {
    out.additionalProperties = fix(out.additionalProperties, `${path}.*`);
  }
  return ordered(out);
}

/** The structural CRD schema of `schema` (its input shape: fields with defaults are optional). */
export function toStructuralSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' });
  return fix(json as JsonSchema, '');
}

/** Every path in `schema` whose node has no description (`kubectl explain` would show nothing). */
export function undocumented(schema: JsonSchema, path = ''): string[] {
  const out: string[] = [];
  if (path !== '' && !schema.description) out.push(path);
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...undocumented(v, `${path}.${k}`));
  if (schema.items && schema.items.type === 'object') out.push(...undocumented(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.type === 'object') {
    out.push(...undocumented(schema.additionalProperties, `${path}.*`));
  }
  return out;
}
