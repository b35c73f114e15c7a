/**
 * ReferenceGrant (MESH957): a route's backendRef or a Gateway's certificateRef into another
 * namespace needs a ReferenceGrant there that allows it; without one the Gateway API calls the ref
 * invalid (ResolvedRefs=False, RefNotPermitted), and explain sends that backend's share to a 500.
 */
import { describe, expect, test } from '@jest/globals';
import { explain } from '../../../mesh/explain/explain.js';
import { buildModel, type KubeObject, type MeshModel } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { baseMesh } from './fixtures.js';

const GW = 'gateway.networking.k8s.io/v1';

/** ratings served from namespace `shop` too (a Service with a pod there). */
function shop(): KubeObject[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ratings', namespace: 'shop' },
      spec: { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ratings-v1', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'ratings' } },
        template: {
          metadata: { labels: { app: 'ratings' } },
          spec: { containers: [{ name: 'ratings', image: 'ratings:1', ports: [{ containerPort: 9080 }] }] },
        },
      },
    },
  ];
}

/** An HTTPRoute on the ratings Service of `default`: 80% there, 20% to shop's ratings. */
const route: KubeObject = {
  apiVersion: GW,
  kind: 'HTTPRoute',
  metadata: { name: 'ratings', namespace: 'default' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'ratings', port: 9080 }],
    rules: [
      {
        backendRefs: [
          { name: 'ratings', port: 9080, weight: 80 },
          { name: 'ratings', namespace: 'shop', port: 9080, weight: 20 },
        ],
      },
    ],
  },
};

const grant = (to: object, from: object = {}): KubeObject => ({
  apiVersion: `${GW.split('/')[0]}/v1beta1`,
  kind: 'ReferenceGrant',
  metadata: { name: 'allow', namespace: 'shop' },
  spec: {
    from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default', ...from }],
    to: [{ group: '', kind: 'Service', ...to }],
  },
});

function model(objects: KubeObject[]): MeshModel {
  const m = buildModel([...baseMesh(), ...shop(), ...objects].map((object) => ({ object })));
  expect(m.invalid.map((i) => `${i.kind}/${i.name}: ${i.problems.join('; ')}`)).toEqual([]);
  return m;
}
const mesh957 = (m: MeshModel) =>
  validate(m)
    .filter((f) => f.code === 'MESH957')
    .map((f) => [f.object, f.message]);

const NOT_PERMITTED =
  'rules[0].backendRefs[1] refers to Service shop/ratings in another namespace, and no ReferenceGrant in shop lets HTTPRoute from default refer to it (ResolvedRefs=False, RefNotPermitted)';

describe('MESH957: a cross-namespace reference needs a ReferenceGrant', () => {
  test('fails if a backendRef into another namespace has no ReferenceGrant there', () => {
    expect(mesh957(model([route]))).toStrictEqual([
      ['HTTPRoute default/ratings', `${NOT_PERMITTED}: requests for this backend answer 500`],
    ]);
  });

  test.each([
    ['all Services of the namespace', grant({})],
    ['the Service by name', grant({ name: 'ratings' })],
  ])('a ReferenceGrant that allows it (%s) clears it', (_, g) => {
    expect(mesh957(model([route, g]))).toStrictEqual([]);
  });

  test.each([
    ['another Service by name', grant({ name: 'details' })],
    ['another kind of route', grant({}, { kind: 'GRPCRoute' })],
    ['another namespace of routes', grant({}, { namespace: 'other' })],
    ['Secrets, not Services', grant({ kind: 'Secret' })],
  ])('fails if the ReferenceGrant there allows something else: %s', (_, g) => {
    expect(mesh957(model([route, g])).map((f) => f[1])).toStrictEqual([
      `${NOT_PERMITTED}: requests for this backend answer 500`,
    ]);
  });

  test('a ReferenceGrant in the route’s own namespace does not count', () => {
    const own = { ...grant({}), metadata: { name: 'allow', namespace: 'default' } };
    expect(mesh957(model([route, own]))).toHaveLength(1);
  });

  test('a namespace whose objects are not in the input is not judged (its ReferenceGrants may exist)', () => {
    const elsewhere = {
      ...route,
      spec: {
        ...(route.spec as object),
        rules: [{ backendRefs: [{ name: 'ratings', namespace: 'payments', port: 9080 }] }],
      },
    };
    expect(mesh957(model([elsewhere]))).toStrictEqual([]);
  });

  test('fails if a Gateway listener uses a certificate Secret of another namespace without a ReferenceGrant', () => {
    const gateway: KubeObject = {
      apiVersion: GW,
      kind: 'Gateway',
      metadata: { name: 'ingress', namespace: 'default' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [
          {
            name: 'https',
            port: 443,
            protocol: 'HTTPS',
            tls: { certificateRefs: [{ name: 'bookinfo-cert', namespace: 'shop' }] },
          },
        ],
      },
    };
    expect(mesh957(model([gateway])).map((f) => f[1])).toStrictEqual([
      'listeners[0].tls.certificateRefs[0] refers to Secret shop/bookinfo-cert in another namespace, and no ReferenceGrant in shop lets Gateway from default refer to it (ResolvedRefs=False, RefNotPermitted): the listener serves no certificate from it',
    ]);
    const allow = grant({ kind: 'Secret', name: 'bookinfo-cert' }, { kind: 'Gateway' });
    expect(mesh957(model([gateway, allow]))).toStrictEqual([]);
  });
});

describe('explain follows only the backends a route may refer to', () => {
  const shares = (m: MeshModel) =>
    explain(m, { from: 'reviews', host: 'ratings' }).destinations.map((d) => [
      d.host,
      Math.round(d.probability * 100),
      d.workloads.join(','),
      d.problem,
    ]);

  test('without a ReferenceGrant, the other namespace’s share answers 500', () => {
    expect(shares(model([route]))).toStrictEqual([
      ['ratings.default.svc.cluster.local', 80, 'ratings-v1', undefined],
      ['ratings.shop.svc.cluster.local', 20, '', `${NOT_PERMITTED} (500)`],
    ]);
  });

  test('with one, the request reaches shop’s pods', () => {
    expect(shares(model([route, grant({ name: 'ratings' })]))).toStrictEqual([
      ['ratings.default.svc.cluster.local', 80, 'ratings-v1', undefined],
      ['ratings.shop.svc.cluster.local', 20, 'ratings-v1', undefined],
    ]);
  });

  test('a rule whose only backend may not be referred to answers 500', () => {
    const only = {
      ...route,
      spec: {
        ...(route.spec as object),
        rules: [{ backendRefs: [{ name: 'ratings', namespace: 'shop', port: 9080 }] }],
      },
    };
    const e = explain(model([only]), { from: 'reviews', host: 'ratings' });
    expect(e.directResponse).toBe(500);
    expect(e.destinations).toStrictEqual([]);
    expect(e.notes).toContain(
      `rule 0 of HTTPRoute default/ratings has no backendRef it may refer to: the Gateway API answers 500 (${NOT_PERMITTED.replace('backendRefs[1]', 'backendRefs[0]')})`,
    );
  });
});
