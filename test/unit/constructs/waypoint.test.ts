/** Ambient mode: the namespace labels, the waypoint, and zero trust through ztunnel and the waypoint. */
import { App, Mesh, ZeroTrustPolicy } from '../../../constructs/index.js';
import { errorOf, newMesh, ofKind, one, synth } from './helpers.js';
import { Duration } from 'cdk8s';

const bookinfo = (mesh: Mesh) => {
  const productpage = new App(mesh, 'productpage', { image: 'p:1', port: 9080 });
  const reviews = new App(mesh, 'reviews', { image: 'r:{version}', port: 9080, versions: ['v1', 'v2'] });
  return { productpage, reviews };
};

describe('Mesh in ambient mode', () => {
  test('labels the namespace for ztunnel capture and its waypoint, and creates the waypoint Gateway', () => {
    const mesh = newMesh({ dataPlane: 'ambient' });
    const objs = synth(mesh);
    expect(one(objs, 'Namespace', 'default').metadata.labels).toStrictEqual({
      'istio.io/dataplane-mode': 'ambient',
      'istio.io/use-waypoint': 'waypoint',
      'istio.io/ingress-use-waypoint': 'true',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(one(objs, 'Gateway', 'waypoint')).toStrictEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'waypoint', namespace: 'default', labels: { 'istio.io/waypoint-for': 'service' } },
      spec: {
        gatewayClassName: 'istio-waypoint',
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    });
    expect(mesh.waypoint?.principal).toBe('cluster.local/ns/default/sa/waypoint');
  });

  test('without a waypoint: only the capture label, and routes are refused with the reason', () => {
    const mesh = newMesh({ dataPlane: 'ambient', waypoint: false });
    const { reviews } = bookinfo(mesh);
    expect(one(synth(mesh), 'Namespace', 'default').metadata.labels).toStrictEqual({
      'istio.io/dataplane-mode': 'ambient',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(errorOf(() => reviews.addRoute({ to: [{ subset: 'v1' }] })).message).toContain(
      'routes[0]: in ambient mode routes are applied by a waypoint, and this mesh has none',
    );
  });

  test('an unmanaged namespace: each App Service names the waypoint; an App out of the mesh opts out of capture', () => {
    const mesh = newMesh({ dataPlane: 'ambient', manageNamespace: false });
    new App(mesh, 'legacy', { image: 'l:1', sidecar: false });
    const objs = synth(mesh);
    expect(one(objs, 'Service', 'legacy').metadata.labels).toStrictEqual({
      app: 'legacy',
      service: 'legacy',
      'istio.io/use-waypoint': 'waypoint',
    });
    const pod = (one(objs, 'Deployment', 'legacy-v1').spec as { template: { metadata: object } }).template
      .metadata;
    expect(pod).toMatchObject({
      labels: { app: 'legacy', version: 'v1', 'istio.io/dataplane-mode': 'none' },
    });
  });

  test('fails if ambient is combined with what it cannot do', () => {
    expect(errorOf(() => newMesh({ dataPlane: 'ambient', mtls: 'DISABLE' })).message).toContain(
      'mtls: PeerAuthentication DISABLE is incompatible with ambient mode',
    );
    expect(errorOf(() => newMesh({ dataPlane: 'ambient', sidecarInjection: true })).message).toContain(
      'sidecarInjection: ambient pods get no sidecar',
    );
    expect(errorOf(() => newMesh({ waypoint: true })).message).toContain(
      "waypoint: a waypoint is part of ambient mode: set dataPlane: 'ambient' or drop waypoint",
    );
    const mesh = newMesh({ dataPlane: 'ambient' });
    const { productpage } = bookinfo(mesh);
    expect(
      errorOf(() => productpage.addLocalRateLimit({ maxTokens: 1, fillInterval: Duration.seconds(1) }))
        .message,
    ).toContain('rateLimit');
  });
});

describe('ZeroTrustPolicy in ambient mode', () => {
  test('with the waypoint: ALLOW rules target the Service, allow-nothing covers the waypoint, ztunnel admits only the waypoint', () => {
    const mesh = newMesh({ dataPlane: 'ambient' });
    const { productpage, reviews } = bookinfo(mesh);
    new ZeroTrustPolicy(mesh, 'zero-trust');
    productpage.calls(reviews, { methods: ['GET'] });
    const objs = synth(mesh);
    expect(ofKind(objs, 'AuthorizationPolicy').map((p) => [p.metadata.name, p.spec])).toStrictEqual([
      ['allow-nothing', {}],
      [
        'allow-nothing-waypoint',
        { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }] },
      ],
      [
        'reviews-viewer',
        {
          action: 'ALLOW',
          targetRefs: [{ group: '', kind: 'Service', name: 'reviews' }],
          rules: [
            {
              from: [{ source: { principals: ['cluster.local/ns/default/sa/productpage'] } }],
              to: [{ operation: { methods: ['GET'] } }],
            },
          ],
        },
      ],
      [
        'reviews-via-waypoint',
        {
          action: 'ALLOW',
          selector: { matchLabels: { app: 'reviews' } },
          rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/waypoint'] } }] }],
        },
      ],
    ]);
    expect(one(objs, 'PeerAuthentication', 'default').spec).toStrictEqual({ mtls: { mode: 'STRICT' } });
  });

  test('without a waypoint: L4 rules by selector for ztunnel; L7 rules refused with the reason', () => {
    const mesh = newMesh({ dataPlane: 'ambient', waypoint: false });
    const { productpage, reviews } = bookinfo(mesh);
    new ZeroTrustPolicy(mesh, 'zero-trust');
    productpage.calls(reviews);
    expect(one(synth(mesh), 'AuthorizationPolicy', 'reviews-viewer').spec).toStrictEqual({
      action: 'ALLOW',
      selector: { matchLabels: { app: 'reviews' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/productpage'] } }] }],
    });
    expect(errorOf(() => productpage.calls(reviews, { paths: ['/x'] })).message).toContain(
      'rules(reviews): methods and paths are L7: in ambient mode without a waypoint ztunnel enforces the policy on reviews and would treat those rules as DENY',
    );
  });

  test('fails if a port-level exception disables mTLS in ambient', () => {
    const mesh = newMesh({ dataPlane: 'ambient' });
    const { reviews } = bookinfo(mesh);
    const zt = new ZeroTrustPolicy(mesh, 'zero-trust');
    expect(errorOf(() => zt.addPortException(reviews, 9080)).message).toContain(
      'portException(reviews).mode: a port-level DISABLE is incompatible with ambient mode',
    );
    expect(zt.addPortException(reviews, 9080, 'PERMISSIVE').name).toBe('reviews-port-9080-mtls');
  });
});
