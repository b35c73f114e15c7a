/**
 * The one reading of zod's issues: for each kind of issue, the field, the message and what was
 * received, exactly as the constructs' errors and the CanaryRelease problems show them.
 */
import { z } from 'zod';
import {
  describeIssues,
  fieldPath,
  renderValue,
  withReceived,
  type InputProblem,
} from '../../../api/zod-issues.js';

const schema = z.strictObject({
  name: z.string(),
  port: z.number().int().min(1),
  weight: z.number().refine((w) => w % 5 === 0, 'weights are multiples of 5'),
  value: z.union([z.string(), z.number()]),
  version: z.union([z.literal('latest'), z.strictObject({ replicas: z.number() })]),
  labels: z.record(z.string().regex(/^[a-z]+$/, 'label keys are lower-case'), z.string()),
  steps: z.array(z.strictObject({ setWeight: z.number().max(100) })),
});

const valid = {
  name: 'reviews',
  port: 9080,
  weight: 10,
  value: 'x',
  version: 'latest',
  labels: { app: 'reviews' },
  steps: [{ setWeight: 10 }],
};

function problems(input: unknown, root = ''): InputProblem[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected the input to be refused, it parsed');
  return describeIssues(r.error.issues, input, root);
}

describe('describeIssues', () => {
  test.each<[string, Record<string, unknown>, InputProblem]>([
    [
      'fails if a field is missing (invalid type, nothing received)',
      { name: undefined },
      { field: 'name', message: 'is required: expected string', received: 'nothing' },
    ],
    [
      'fails if a field has the wrong type',
      { port: '9080' },
      { field: 'port', message: 'expected number', received: '"9080"' },
    ],
    [
      'fails if a number is not an integer',
      { port: 1.5 },
      { field: 'port', message: 'expected int', received: '1.5' },
    ],
    [
      'fails if a number is too small',
      { port: 0 },
      { field: 'port', message: 'Too small: expected number to be >=1', received: '0' },
    ],
    [
      'fails if a custom rule does not hold',
      { weight: 12 },
      { field: 'weight', message: 'weights are multiples of 5', received: '12' },
    ],
    [
      'fails if a value matches no alternative of a union of types',
      { value: true },
      { field: 'value', message: 'expected string or number', received: 'true' },
    ],
    [
      'fails if a union alternative got inside the value: its own issue is reported',
      { version: { replicas: 'two' } },
      { field: 'version.replicas', message: 'expected number', received: '"two"' },
    ],
    [
      'fails if a value of the right type has the wrong value: the alternative of that type speaks',
      { version: 'newest' },
      { field: 'version', message: 'expected "latest"', received: '"newest"' },
    ],
    [
      'fails if a key is unknown',
      { nmae: 'x' },
      {
        field: '',
        message: 'unknown field "nmae": remove it or fix its spelling',
        received: renderValue({ ...valid, nmae: 'x' }),
      },
    ],
    [
      'fails if a record key is invalid: the key is what was received',
      { labels: { App: 'x' } },
      { field: 'labels.App', message: 'label keys are lower-case', received: '"App"' },
    ],
    [
      'fails if an array element is invalid',
      { steps: [{ setWeight: 10 }, { setWeight: 120 }] },
      { field: 'steps[1].setWeight', message: 'Too big: expected number to be <=100', received: '120' },
    ],
  ])('%s', (_name, change, expected) => {
    expect(problems({ ...valid, ...change })).toStrictEqual([expected]);
  });

  test('fails listing several unknown keys in one problem, under a root', () => {
    expect(problems({ ...valid, a: 1, b: 2 }, '.spec')).toStrictEqual([
      {
        field: '.spec',
        message: 'unknown fields "a", "b": remove them or fix their spelling',
        received: renderValue({ ...valid, a: 1, b: 2 }),
      },
    ]);
  });

  test('fails with every issue at once, none of them reading "see message"', () => {
    const found = problems({ name: 1, port: 0, weight: 12 }).map((p) => `${p.field}: ${withReceived(p)}`);
    expect(found).toStrictEqual([
      'name: expected string (received 1)',
      'port: Too small: expected number to be >=1 (received 0)',
      'weight: weights are multiples of 5 (received 12)',
      'value: is required: expected string or number (received nothing)',
      'version: is required: expected "latest" or object (received nothing)',
      'labels: is required: expected record (received nothing)',
      'steps: is required: expected array (received nothing)',
    ]);
  });
});

describe('fieldPath, renderValue and withReceived', () => {
  test('a path reads as in the object, under its root', () => {
    expect(fieldPath('.spec', ['steps', 2, 'setWeight'])).toBe('.spec.steps[2].setWeight');
    expect(fieldPath('', ['routes', 1, 'to'])).toBe('routes[1].to');
    expect(fieldPath('routes[2]', ['to'])).toBe('routes[2].to');
  });

  test('a long value is cut at 80 characters, an unset one is "nothing"', () => {
    expect(renderValue('x'.repeat(100))).toBe(`"${'x'.repeat(76)}...`);
    expect(renderValue(undefined)).toBe('nothing');
  });

  test('a message that says what was received stands alone', () => {
    expect(withReceived({ field: 'a', message: 'is wrong (got 1)' })).toBe('is wrong (got 1)');
    expect(withReceived({ field: 'a', message: 'is wrong', received: '1' })).toBe('is wrong (received 1)');
  });
});
