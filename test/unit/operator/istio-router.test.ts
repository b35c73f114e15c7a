import type { VirtualServiceObject } from '../../../operator/adapters/istio-router.js';
import { routePatch, type RouteTarget } from '../../../operator/core/routes.js';

const target: RouteTarget = {
  namespace: 'shop',
  release: 'reviews',
  virtualService: 'reviews',
  route: 'primary',
  service: 'reviews',
  stableSubset: 'v1',
  canarySubset: 'v2',
};

/** A VirtualService as the apiserver returns it: wire keys, among them the deprecated mirror_percent. */
const vs: VirtualServiceObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'shop', resourceVersion: '7' },
  spec: {
    hosts: ['reviews'],
    http: [
      {
        name: 'primary',
        timeout: '3s',
        mirror: { host: 'reviews', subset: 'shadow' },
        mirror_percent: 20,
        route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 100 }],
      },
    ],
  },
};

describe('routePatch', () => {
  test('a header route copies the managed route’s timeout, but none of its mirror fields (mirror_percent on the wire)', () => {
    const patch = routePatch(target, vs, '7', [
      { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: 'yes' } } },
    ]);
    expect(patch).toStrictEqual({
      ok: true,
      value: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        {
          op: 'add',
          path: '/spec/http/0',
          value: {
            timeout: '3s',
            name: 'reviews-beta',
            match: [{ headers: { 'x-beta': { exact: 'yes' } } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
        },
      ],
    });
  });
});
