/** The model reads Gateway API routes and Gateways, ambient capture and policy targetRefs. */
import { Testing } from 'cdk8s';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { App, Mesh, ZeroTrustPolicy } from '../../../constructs/index.js';

function bookinfo(mode: { dataPlane: 'sidecar' | 'ambient'; trafficApi: 'istio' | 'gateway-api' }) {
  const mesh = new Mesh(Testing.app(), 'bookinfo', mode);
  const productpage = new App(mesh, 'productpage', { image: 'p:1', port: 9080 });
  const reviews = new App(mesh, 'reviews', { image: 'r:{version}', port: 9080, versions: ['v1', 'v2'] });
  const ratings = new App(mesh, 'ratings', { image: 'r:1', port: 9080 });
  reviews.addRoute({
    name: 'primary',
    to: [
      { subset: 'v1', weight: 90 },
      { subset: 'v2', weight: 10 },
    ],
  });
  new ZeroTrustPolicy(mesh, 'zero-trust');
  productpage.calls(reviews, { methods: ['GET'] });
  reviews.calls(ratings);
  const objects = Testing.synth(mesh) as KubeObject[];
  return { mesh, model: buildModel(objects.map((object) => ({ object }))) };
}

describe('the model of an ambient Gateway API mesh', () => {
  const { mesh, model } = bookinfo({ dataPlane: 'ambient', trafficApi: 'gateway-api' });

  test('reads the HTTPRoute with its Service parent and its version backends', () => {
    expect(
      model.gatewayApiRoutes.map((r) => ({
        kind: r.kind,
        name: r.name,
        parents: r.parentRefs,
        backends: r.backends,
      })),
    ).toStrictEqual([
      {
        kind: 'HTTPRoute',
        name: 'reviews',
        parents: [{ group: '', kind: 'Service', name: 'reviews', namespace: 'default', port: 9080 }],
        backends: [
          { name: 'reviews-v1', namespace: 'default', port: 9080, field: 'rules[0].backendRefs[0]' },
          { name: 'reviews-v2', namespace: 'default', port: 9080, field: 'rules[0].backendRefs[1]' },
        ],
      },
    ]);
    // The Gateway API Gateway is not read as an Istio Gateway.
    expect(model.gateways).toEqual([]);
    expect(model.k8sGateways.map((g) => [g.name, g.gatewayClassName])).toEqual([
      ['waypoint', 'istio-waypoint'],
    ]);
  });

  test('pods are captured by ztunnel, not sidecars', () => {
    expect(model.workloads.map((w) => [w.name, w.sidecar, w.ambient])).toEqual([
      ['productpage-v1', false, true],
      ['reviews-v1', false, true],
      ['reviews-v2', false, true],
      ['ratings-v1', false, true],
    ]);
  });

  test('a policy targeting a Service applies to its pods; the validator reports no warning or error', () => {
    const viewer = model.authorizationPolicies.find((p) => p.name === 'reviews-viewer')!;
    expect(viewer.targetRefs).toEqual([{ group: '', kind: 'Service', name: 'reviews' }]);
    expect(viewer.selector).toEqual({ app: 'reviews' });
    expect(validate(model).map((f) => `${f.code} ${f.message}`)).toEqual([
      'MESH404 namespace default is STRICT and no DestinationRule enables mTLS for it: clients depend on auto mTLS',
    ]);
  });

  test('explain gives the same authorization answers as the sidecar + Istio API mesh', () => {
    const sidecar = bookinfo({ dataPlane: 'sidecar', trafficApi: 'istio' }).mesh;
    // The decisions and whether mTLS holds, over every destination the request may reach.
    const ask = (m: Mesh, from: string, to: string, method: string) => {
      const e = m.explain({ from, host: to, method });
      return [
        ...new Set([
          ...(e.authorization ? [e.authorization.decision] : []),
          ...e.destinations.map((d) => `${d.authorization?.decision} tls ${d.tls?.ok}`),
        ]),
      ];
    };
    for (const [from, to, method] of [
      ['productpage', 'reviews', 'GET'],
      ['productpage', 'reviews', 'POST'],
      ['ratings', 'reviews', 'GET'],
      ['reviews', 'ratings', 'GET'],
      ['productpage', 'ratings', 'GET'],
    ] as const) {
      expect([from, to, method, ask(mesh, from, to, method)]).toEqual([
        from,
        to,
        method,
        ask(sidecar, from, to, method),
      ]);
    }
  });
});
