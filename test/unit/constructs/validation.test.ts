import { Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  checkProps,
  dnsLabel,
  duration,
  MeshPropsError,
  percentage,
  portNumber,
} from '../../../constructs/validation.js';
import { errorOf } from './helpers.js';

const scope = () => new Construct(Testing.app(), 'mesh');

describe('MeshPropsError', () => {
  test('lists the construct path, then one line per issue with field, message and value received', () => {
    const err = new MeshPropsError('bookinfo/reviews', [
      { field: 'routes[1].to', message: 'route weights sum to 90', received: '[…]' },
      { field: '', message: 'Unrecognized key: "foo"', received: '{"foo":1}' },
    ]);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('MeshPropsError');
    expect(err.path).toBe('bookinfo/reviews');
    expect(err.message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - routes[1].to: route weights sum to 90 (received […])\n' +
        '  - (props): Unrecognized key: "foo" (received {"foo":1})',
    );
  });
});

describe('checkProps', () => {
  const schema = z.strictObject({
    name: dnsLabel,
    port: portNumber.default(80),
    items: z.array(z.strictObject({ weight: z.number().int('weights are integers') })).optional(),
    labels: z.record(z.string().regex(/^[a-z]+$/, 'label keys are lower-case'), z.string()).optional(),
  });

  test('returns the parsed props, defaults applied', () => {
    expect(checkProps(scope(), schema, { name: 'reviews' })).toStrictEqual({ name: 'reviews', port: 80 });
  });

  test('fails if a prop is invalid, naming the construct path, the field and the value received', () => {
    const err = errorOf(() => checkProps(scope(), schema, { name: 'Reviews' }));
    expect(err).toBeInstanceOf(MeshPropsError);
    expect((err as MeshPropsError).issues).toStrictEqual([
      {
        field: 'name',
        message: 'must be a DNS-1123 label: lower-case letters, digits and "-"',
        received: '"Reviews"',
      },
    ]);
    expect(err.message).toBe(
      'mesh: invalid props\n' +
        '  - name: must be a DNS-1123 label: lower-case letters, digits and "-" (received "Reviews")',
    );
  });

  test('fails if several props are invalid, listing them all at once', () => {
    const err = errorOf(() =>
      checkProps(scope(), schema, { name: 'a_b', port: 0, items: [{ weight: 1.5 }], extra: true }),
    );
    expect(err.message).toBe(
      'mesh: invalid props\n' +
        '  - name: must be a DNS-1123 label: lower-case letters, digits and "-" (received "a_b")\n' +
        '  - port: Too small: expected number to be >=1 (received 0)\n' +
        '  - items[0].weight: weights are integers (received 1.5)\n' +
        '  - (props): unknown field "extra": remove it or fix its spelling (received {"name":"a_b","port":0,"items":[{"weight":1.5}],"extra":true})',
    );
  });

  test('fails if a field is missing, received rendered as "nothing"', () => {
    expect(errorOf(() => checkProps(scope(), schema, {})).message).toBe(
      'mesh: invalid props\n  - name: is required: expected string (received nothing)',
    );
  });

  test('fails with field paths prefixed by `field` when props are one part of the input', () => {
    const err = errorOf(() =>
      checkProps(scope(), schema, { name: 'x', items: [{ weight: 0.5 }] }, 'routes[2]'),
    );
    expect((err as MeshPropsError).issues.map((i) => i.field)).toStrictEqual(['routes[2].items[0].weight']);
    const top = errorOf(() => checkProps(scope(), portNumber, 0, 'portException(reviews).port'));
    expect((top as MeshPropsError).issues.map((i) => i.field)).toStrictEqual(['portException(reviews).port']);
  });

  test('fails with an index-first field path when the props are an array', () => {
    const err = errorOf(() => checkProps(scope(), z.array(dnsLabel), ['ok', 'NOT']));
    expect((err as MeshPropsError).issues.map((i) => i.field)).toStrictEqual(['[1]']);
  });

  test('fails if a record key is invalid, with the key schema message and the key as received', () => {
    const err = errorOf(() => checkProps(scope(), schema, { name: 'x', labels: { Team: 'a' } }));
    expect(err.message).toBe(
      'mesh: invalid props\n  - labels.Team: label keys are lower-case (received "Team")',
    );
  });

  test('fails with the issues of the one union alternative that got inside the value', () => {
    const version = z.union([dnsLabel, z.strictObject({ name: dnsLabel, replicas: z.number().int() })]);
    expect(errorOf(() => checkProps(scope(), version, { name: 'v1', replicas: 'two' })).message).toBe(
      'mesh: invalid props\n  - replicas: expected number (received "two")',
    );
    expect(errorOf(() => checkProps(scope(), version, 'V1')).message).toBe(
      'mesh: invalid props\n  - (props): must be a DNS-1123 label: lower-case letters, digits and "-" (received "V1")',
    );
  });

  test('fails with a union own message when it has one', () => {
    const match = z.union([z.strictObject({ exact: z.string() }), z.strictObject({ prefix: z.string() })], {
      error: 'expected { exact } or { prefix }',
    });
    expect(errorOf(() => checkProps(scope(), match, { exact: '/', prefix: '/' })).message).toBe(
      'mesh: invalid props\n  - (props): expected { exact } or { prefix } (received {"exact":"/","prefix":"/"})',
    );
  });

  test('fails with the value received truncated to 80 characters', () => {
    const long = 'x'.repeat(100);
    const err = errorOf(() => checkProps(scope(), z.number(), long)) as MeshPropsError;
    expect(err.issues[0]!.received).toBe(`"${'x'.repeat(76)}...`);
    expect(err.issues[0]!.received).toHaveLength(80);
  });

  test('fails with a value JSON cannot render rendered as a string', () => {
    const err = errorOf(() => checkProps(scope(), z.string(), 10n)) as MeshPropsError;
    expect(err.issues[0]!.received).toBe('10');
  });
});

describe('dnsLabel', () => {
  test.each(['a', 'reviews', 'v2-mysql', '0', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(dnsLabel.safeParse(name).success).toBe(true);
  });
  test.each([
    ['Reviews', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['-a', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['a-', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['a.b', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['a_b', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ['a'.repeat(64), 'must be at most 63 characters'],
  ])('fails if a name is %j', (name, message) => {
    const res = dnsLabel.safeParse(name);
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => i.message)).toStrictEqual([message]);
  });
});

describe('percentage, portNumber, duration', () => {
  test('a percentage is in [0, 100], fractions allowed', () => {
    expect([0, 0.5, 100].map((v) => percentage.safeParse(v).success)).toStrictEqual([true, true, true]);
  });
  test.each([-1, 100.1])('fails if a percentage is %s', (v) => {
    expect(percentage.safeParse(v).error?.issues[0]?.message).toBe('a percentage must be between 0 and 100');
  });

  test('a port is an integer in [1, 65535]', () => {
    expect([1, 9080, 65535].map((v) => portNumber.safeParse(v).success)).toStrictEqual([true, true, true]);
  });
  test.each([
    [0, 'Too small: expected number to be >=1'],
    [65536, 'Too big: expected number to be <=65535'],
    [80.5, 'a port must be an integer'],
  ])('fails if a port is %s', (v, message) => {
    expect(portNumber.safeParse(v).error?.issues[0]?.message).toBe(message);
  });

  test('a duration is a cdk8s Duration', () => {
    expect(duration.safeParse(Duration.seconds(7)).success).toBe(true);
  });
  test.each([7, '7s', { amount: 7 }])('fails if a duration is %j', (v) => {
    expect(duration.safeParse(v).error?.issues[0]?.message).toBe(
      'expected a cdk8s Duration, e.g. Duration.seconds(7)',
    );
  });
});
