/**
 * The CRD is generated from the zod schema: the committed file equals the generated one, the
 * schema is structural (Kubernetes' rules), every field has a description for `kubectl
 * explain`, and the resource has its printer columns, status subresource and short name.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { toStructuralSchema, undocumented, type JsonSchema } from '../../../api/crd-schema.js';
import { canaryReleaseCrd, canaryReleaseCrdYaml } from '../../../api/v1alpha1/crd.js';

const here = dirname(fileURLToPath(import.meta.url));
const committed = join(here, '../../../api/v1alpha1/crd.yaml');

function walk(node: JsonSchema, visit: (n: JsonSchema, path: string) => void, path = ''): void {
  visit(node, path);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, visit, `${path}.${k}`);
  if (node.items) walk(node.items, visit, `${path}[]`);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, visit, `${path}.*`);
}

const version = canaryReleaseCrd().spec.versions[0]!;
const schema = version.schema.openAPIV3Schema;

test('the committed api/v1alpha1/crd.yaml equals what `npm run gen:crd` generates', () => {
  // stale: run `npm run gen:crd` and commit api/v1alpha1/crd.yaml
  expect(readFileSync(committed, 'utf8')).toBe(canaryReleaseCrdYaml());
});

test('every node of the schema has a type and none uses a keyword structural schemas forbid', () => {
  const bad: string[] = [];
  walk(schema, (n, path) => {
    if (!n.type) bad.push(`${path}: no type`);
    for (const k of ['oneOf', 'anyOf', 'allOf', 'not', '$ref', 'const', 'nullable']) {
      if (k in n) bad.push(`${path}: ${k}`);
    }
    if (n.properties && n.additionalProperties !== undefined)
      bad.push(`${path}: properties + additionalProperties`);
    if (
      n.type === 'integer' &&
      (n.maximum === Number.MAX_SAFE_INTEGER || n.minimum === -Number.MAX_SAFE_INTEGER)
    ) {
      bad.push(`${path}: ±2^53 bound`);
    }
  });
  expect(bad).toEqual([]);
});

test('every field of spec and status has a description (kubectl explain)', () => {
  expect(undocumented(schema.properties!.spec!, '.spec')).toEqual([]);
  expect(undocumented(schema.properties!.status!, '.status')).toEqual([]);
});

test('steps use the union idiom: five optional fields and a CEL exactly-one-of rule', () => {
  const step = schema.properties!.spec!.properties!.steps!.items!;
  expect(Object.keys(step.properties!)).toEqual(['setWeight', 'pause', 'headerRoute', 'mirror', 'faultTest']);
  expect(step.required).toBeUndefined();
  expect(step['x-kubernetes-validations']).toStrictEqual([
    {
      rule: '(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.headerRoute) ? 1 : 0) + (has(self.mirror) ? 1 : 0) + (has(self.faultTest) ? 1 : 0) == 1',
      message: 'a step sets exactly one of setWeight, pause, headerRoute, mirror, faultTest',
    },
  ]);
});

test('printer columns, status subresource, short name', () => {
  const crd = canaryReleaseCrd();
  expect(crd.metadata.name).toBe('canaryreleases.delivery.cdk8s-mesh.io');
  expect(crd.spec.names.shortNames).toEqual(['crel']);
  expect(version.name).toBe('v1alpha1');
  expect(version.subresources).toStrictEqual({ status: {} });
  expect(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath])).toEqual([
    ['Phase', '.status.phase'],
    ['Step', '.status.currentStep'],
    ['Steps', '.status.totalSteps'],
    ['Weight', '.status.canaryWeight'],
    ['Success', '.status.successRate'],
    ['Message', '.status.message'],
    ['Age', '.metadata.creationTimestamp'],
  ]);
});

describe('toStructuralSchema', () => {
  test('fails if a schema uses a zod union, naming the node and the fix', () => {
    const s = z.object({ step: z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]) });
    expect(() => toStructuralSchema(s)).toThrow(
      ".step: 'anyOf' is not allowed in a Kubernetes structural schema; express unions as an object with exactly-one-of fields and a CEL rule",
    );
  });

  test('fails if a node has no type', () => {
    expect(() => toStructuralSchema(z.object({ x: z.unknown() }))).toThrow(
      '.x: every node of a structural schema needs a type',
    );
  });

  test('drops the ±2^53 integer bounds, additionalProperties: false and the date-time regex', () => {
    expect(toStructuralSchema(z.strictObject({ n: z.int(), t: z.iso.datetime() }))).toStrictEqual({
      type: 'object',
      properties: { n: { type: 'integer' }, t: { type: 'string', format: 'date-time' } },
      required: ['n', 't'],
    });
  });
});
