/**
 * The fuzz campaign's case generator (test/e2e/spec-fuzz.ts), without a cluster: the cases meant
 * to be valid are valid, every mutation occurs, and a seed gives the same cases again.
 */
import { CanaryReleaseSpec } from '../../../api/v1alpha1/canary-release.js';
import { fuzzCases, SENTINEL } from '../../e2e/spec-fuzz.js';

const N = 600;
const cases = fuzzCases(N, 3);

describe('fuzzCases', () => {
  it('gives n cases on no Gateway API route; the valid ones hold on a route the sentinel VirtualService lacks', () => {
    expect(cases).toHaveLength(N);
    for (const { spec, mutation } of cases) {
      expect(spec.httpRoute).toBeUndefined();
      expect(spec.grpcRoute).toBeUndefined();
      if (mutation === undefined)
        expect(spec.virtualService).toStrictEqual({ name: SENTINEL, route: 'no-such-route' });
    }
  });

  it('makes about a third as generated, each one zod accepts (spare samples stand in for refused ones)', () => {
    const generated = cases.filter((c) => c.mutation === undefined);
    expect(generated.length).toBeGreaterThan(N / 4);
    expect(generated.length).toBeLessThan(N / 2.5);
    const refused = generated
      .map((c) => CanaryReleaseSpec.safeParse(c.spec))
      .filter((r) => !r.success)
      .map((r) => r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    expect(refused).toStrictEqual([]);
  });

  it('applies every mutation', () => {
    const applied = new Set(cases.map((c) => c.mutation).filter((m) => m !== undefined));
    expect([...applied].sort()).toStrictEqual(
      [
        'array',
        'boolean',
        'constructor-key',
        'deep',
        'empty-key',
        'empty-string',
        'fraction',
        'huge-number',
        'huge-string',
        'long-key',
        'negative',
        'null',
        'number',
        'object',
        'proto-key',
        'remove',
        'string',
      ].sort(),
    );
  });

  it('gives the same cases for the same seed, and others for another', () => {
    const again = fuzzCases(50, 3).map((c) => JSON.stringify(c));
    expect(again).toStrictEqual(cases.slice(0, 50).map((c) => JSON.stringify(c)));
    expect(fuzzCases(50, 4).map((c) => JSON.stringify(c))).not.toStrictEqual(again);
  });
});
