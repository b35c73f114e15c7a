/**
 * "A lone destination takes 100%": the weights Istio applies to one route's destinations.
 */
import fc from 'fast-check';
import { destinationWeights } from '../../../api/route-weights.js';

describe('destinationWeights', () => {
  test.each<[string, { weight?: number }[], number[]]>([
    ['a lone destination without a weight takes all the traffic', [{}], [100]],
    ['a lone destination takes all the traffic whatever weight it states', [{ weight: 50 }], [100]],
    ['a lone destination at weight 0 still takes all the traffic', [{ weight: 0 }], [100]],
    ['several destinations take their weights', [{ weight: 90 }, { weight: 10 }], [90, 10]],
    ['a destination among several without a weight takes none', [{ weight: 100 }, {}], [100, 0]],
    ['weights that do not sum to 100 are kept as stated', [{ weight: 50 }, { weight: 40 }], [50, 40]],
    ['no destination, no weight', [], []],
  ])('%s', (_name, destinations, weights) => {
    expect(destinationWeights(destinations)).toStrictEqual(weights);
  });

  test('one weight per destination, in order; stated weights are kept among several', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ weight: fc.option(fc.nat(100), { nil: undefined }) })), (ds) => {
        const w = destinationWeights(ds);
        expect(w).toHaveLength(ds.length);
        if (ds.length === 1) expect(w).toStrictEqual([100]);
        else ds.forEach((d, i) => expect(w[i]).toBe(d.weight ?? 0));
      }),
    );
  });
});
