import { Chart, Testing } from 'cdk8s';
import {
  App,
  IngressGateway,
  MeshPropsError,
  ZeroTrustPolicy,
  type Mesh,
  type MeshProps,
  type ZeroTrustPolicyProps,
} from '../../../constructs/index.js';
import { errorOf, names, newMesh, ofKind, one, synth, type K8sObject } from './helpers.js';

function bookinfo(meshProps: MeshProps = {}) {
  const mesh = newMesh(meshProps);
  const app = (name: string, props = {}) =>
    new App(mesh, name, { image: `${name}:{version}`, serviceAccountName: `bookinfo-${name}`, ...props });
  return {
    mesh,
    productpage: app('productpage'),
    details: app('details'),
    reviews: app('reviews'),
    ratings: app('ratings'),
  };
}

const principal = (name: string) => `cluster.local/ns/default/sa/bookinfo-${name}`;
const gatewayPrincipal = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';

const viewer = (app: string, rules: unknown[], namespace = 'default') => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: `${app}-viewer`, namespace },
  spec: { selector: { matchLabels: { app } }, action: 'ALLOW', rules },
});
const from = (...principals: string[]) => ({ from: [{ source: { principals } }] });
const op = (operation: { methods?: string[]; paths?: string[] }) => ({ to: [{ operation }] });

const policies = (mesh: Mesh): K8sObject[] => ofKind(synth(mesh), 'AuthorizationPolicy');
const security = (mesh: Mesh): K8sObject[] =>
  synth(mesh).filter((o) => o.apiVersion.startsWith('security.istio.io/'));

describe('ZeroTrustPolicy defaults', () => {
  test('STRICT mTLS for the namespace and allow-nothing, registered as the mesh policy', () => {
    const { mesh } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    expect(security(mesh)).toStrictEqual([
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'PeerAuthentication',
        metadata: { name: 'default', namespace: 'default' },
        spec: { mtls: { mode: 'STRICT' } },
      },
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'allow-nothing', namespace: 'default' },
        spec: {},
      },
    ]);
    expect(mesh.zeroTrust).toBe(zt);
    expect(zt.mesh).toBe(mesh);
    expect(zt.peerAuthentication).toBeDefined();
    expect(zt.allowNothing).toBeDefined();
    expect(security(mesh)).toMatchSnapshot();
  });

  test('in the mesh namespace', () => {
    const mesh = newMesh({ namespace: 'shop' });
    new ZeroTrustPolicy(mesh, 'ZeroTrust');
    expect(security(mesh).map((o) => o.metadata.namespace)).toStrictEqual(['shop', 'shop']);
  });
});

describe('ZeroTrustPolicy props', () => {
  test.each(['PERMISSIVE', 'DISABLE'] as const)('mtls %s', (mode) => {
    const { mesh } = bookinfo();
    new ZeroTrustPolicy(mesh, 'ZeroTrust', { mtls: mode });
    expect(one(synth(mesh), 'PeerAuthentication', 'default').spec).toStrictEqual({ mtls: { mode } });
  });

  test('allowNothing false: no allow-nothing policy', () => {
    const { mesh } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust', { allowNothing: false });
    expect(names(security(mesh))).toStrictEqual(['PeerAuthentication/default']);
    expect(zt.allowNothing).toBeUndefined();
  });
});

describe('ALLOW policies from the call graph', () => {
  test('a call allows the caller principal on the callee, for the methods and paths declared', () => {
    const { mesh, productpage, reviews, details } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    productpage.calls(reviews, { methods: ['GET'] });
    productpage.calls(details, { methods: ['GET', 'HEAD'], paths: ['/details/*'] });
    expect(policies(mesh)).toStrictEqual([
      expect.objectContaining({ metadata: { name: 'allow-nothing', namespace: 'default' } }),
      viewer('reviews', [{ ...from(principal('productpage')), ...op({ methods: ['GET'] }) }]),
      viewer('details', [
        { ...from(principal('productpage')), ...op({ methods: ['GET', 'HEAD'], paths: ['/details/*'] }) },
      ]),
    ]);
    expect(zt.policyFor(reviews)?.metadata.name).toBe('reviews-viewer');
    expect(zt.policyFor(productpage)).toBeUndefined();
  });

  test('a call without options allows every operation (no `to`)', () => {
    const { mesh, reviews, ratings } = bookinfo();
    new ZeroTrustPolicy(mesh, 'ZeroTrust');
    reviews.calls(ratings);
    expect(one(synth(mesh), 'AuthorizationPolicy', 'ratings-viewer')).toStrictEqual(
      viewer('ratings', [from(principal('reviews'))]),
    );
  });

  test('calls declared before and after the policy give the same objects', () => {
    const declare = ({ productpage, reviews, details, ratings }: ReturnType<typeof bookinfo>) => {
      productpage.calls(details, { methods: ['GET'] });
      productpage.calls(reviews, { methods: ['GET'] });
      reviews.calls(ratings);
    };
    const before = bookinfo();
    declare(before);
    new ZeroTrustPolicy(before.mesh, 'ZeroTrust');

    const after = bookinfo();
    new ZeroTrustPolicy(after.mesh, 'ZeroTrust');
    declare(after);

    const split = bookinfo();
    split.productpage.calls(split.details, { methods: ['GET'] });
    new ZeroTrustPolicy(split.mesh, 'ZeroTrust');
    split.productpage.calls(split.reviews, { methods: ['GET'] });
    split.reviews.calls(split.ratings);

    const expected = [
      viewer('details', [{ ...from(principal('productpage')), ...op({ methods: ['GET'] }) }]),
      viewer('reviews', [{ ...from(principal('productpage')), ...op({ methods: ['GET'] }) }]),
      viewer('ratings', [from(principal('reviews'))]),
    ];
    for (const { mesh } of [before, after, split]) {
      expect(policies(mesh).filter((p) => p.metadata.name !== 'allow-nothing')).toStrictEqual(expected);
    }
    expect(synth(before.mesh)).toStrictEqual(synth(after.mesh));
  });

  test('callers with the same operations share one rule; other operations get their own', () => {
    const { mesh, productpage, reviews, details, ratings } = bookinfo();
    new ZeroTrustPolicy(mesh, 'ZeroTrust');
    productpage.calls(ratings, { methods: ['GET'] });
    reviews.calls(ratings, { methods: ['GET'] });
    details.calls(ratings, { methods: ['POST'] });
    // Declared twice: the principal is listed once.
    reviews.calls(ratings, { methods: ['GET'] });
    expect(one(synth(mesh), 'AuthorizationPolicy', 'ratings-viewer')).toStrictEqual(
      viewer('ratings', [
        { ...from(principal('productpage'), principal('reviews')), ...op({ methods: ['GET'] }) },
        { ...from(principal('details')), ...op({ methods: ['POST'] }) },
      ]),
    );
  });

  test('one policy per callee, in the callee namespace; principals use the mesh trust domain', () => {
    const { mesh, productpage } = bookinfo({ trustDomain: 'example.org' });
    const orders = new App(mesh, 'orders', { image: 'o', namespace: 'shop' });
    new ZeroTrustPolicy(mesh, 'ZeroTrust');
    productpage.calls(orders);
    expect(one(synth(mesh), 'AuthorizationPolicy', 'orders-viewer')).toStrictEqual(
      viewer(
        'orders',
        [{ from: [{ source: { principals: ['example.org/ns/default/sa/bookinfo-productpage'] } }] }],
        'shop',
      ),
    );
  });
});

describe('allowFromAnyone', () => {
  test('an open rule (no `from`) for the methods and paths given, returned as the policy', () => {
    const { mesh, productpage } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    const policy = zt.allowFromAnyone(productpage, { methods: ['GET'] });
    expect(policy).toBe(zt.policyFor(productpage));
    expect(one(synth(mesh), 'AuthorizationPolicy', 'productpage-viewer')).toStrictEqual(
      viewer('productpage', [op({ methods: ['GET'] })]),
    );
  });

  test('without options, everything is open (an empty rule)', () => {
    const { mesh, productpage } = bookinfo();
    new ZeroTrustPolicy(mesh, 'ZeroTrust').allowFromAnyone(productpage);
    expect(one(synth(mesh), 'AuthorizationPolicy', 'productpage-viewer').spec!.rules).toStrictEqual([{}]);
  });

  test('stands beside caller rules with the same operations, and is not repeated', () => {
    const { mesh, productpage, reviews } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    productpage.calls(reviews, { methods: ['GET'] });
    zt.allowFromAnyone(reviews, { methods: ['GET'], paths: ['/health'] });
    zt.allowFromAnyone(reviews, { methods: ['GET'], paths: ['/health'] });
    zt.allowFromAnyone(reviews, { methods: ['GET'] });
    expect(one(synth(mesh), 'AuthorizationPolicy', 'reviews-viewer')).toStrictEqual(
      viewer('reviews', [
        { ...from(principal('productpage')), ...op({ methods: ['GET'] }) },
        op({ methods: ['GET'], paths: ['/health'] }),
        op({ methods: ['GET'] }),
      ]),
    );
  });
});

describe('the ingress gateway as a caller', () => {
  test('an IngressGateway route allows the gateway principal on the App, routes before or after the policy', () => {
    for (const order of ['before', 'after'] as const) {
      const { mesh, productpage } = bookinfo();
      const gw = new IngressGateway(mesh, 'bookinfo-gateway');
      if (order === 'before') gw.route({ to: productpage });
      new ZeroTrustPolicy(mesh, 'ZeroTrust');
      if (order === 'after') gw.route({ to: productpage });
      expect(one(synth(mesh), 'AuthorizationPolicy', 'productpage-viewer')).toStrictEqual(
        viewer('productpage', [from(gatewayPrincipal)]),
      );
    }
  });

  test('allowIngressGateway false: gateway routes allow nothing (open the App yourself), other calls still do', () => {
    for (const order of ['before', 'after'] as const) {
      const { mesh, productpage, reviews } = bookinfo();
      const gw = new IngressGateway(mesh, 'bookinfo-gateway');
      if (order === 'before') gw.route({ to: productpage });
      const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust', { allowIngressGateway: false });
      if (order === 'after') gw.route({ to: productpage });
      productpage.calls(reviews);
      expect(zt.policyFor(productpage)).toBeUndefined();
      // The reference's productpage-viewer: open to anyone for GET, with no gateway principal rule.
      zt.allowFromAnyone(productpage, { methods: ['GET'] });
      const objs = policies(mesh);
      expect(names(objs)).toStrictEqual([
        'AuthorizationPolicy/allow-nothing',
        'AuthorizationPolicy/reviews-viewer',
        'AuthorizationPolicy/productpage-viewer',
      ]);
      expect(one(objs, 'AuthorizationPolicy', 'productpage-viewer')).toStrictEqual(
        viewer('productpage', [op({ methods: ['GET'] })]),
      );
    }
  });
});

describe('addPortException', () => {
  test('a PeerAuthentication for the workload with portLevelMtls DISABLE by default', () => {
    const { mesh, ratings } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    const pa = zt.addPortException(ratings, 80);
    expect(pa.metadata.name).toBe('ratings-port-80-mtls');
    expect(one(synth(mesh), 'PeerAuthentication', 'ratings-port-80-mtls')).toStrictEqual({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'ratings-port-80-mtls', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'ratings' } }, portLevelMtls: { '80': { mode: 'DISABLE' } } },
    });
  });

  test('mode and name given; in the workload namespace', () => {
    const { mesh } = bookinfo();
    const nginx = new App(mesh, 'nginx-app', { image: 'nginx', namespace: 'web' });
    new ZeroTrustPolicy(mesh, 'ZeroTrust').addPortException(
      nginx,
      80,
      'PERMISSIVE',
      'example-workload-policy',
    );
    expect(one(synth(mesh), 'PeerAuthentication', 'example-workload-policy')).toStrictEqual({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'example-workload-policy', namespace: 'web' },
      spec: {
        selector: { matchLabels: { app: 'nginx-app' } },
        portLevelMtls: { '80': { mode: 'PERMISSIVE' } },
      },
    });
  });

  test.each([
    [0, 'Too small: expected number to be >=1'],
    [65536, 'Too big: expected number to be <=65535'],
    [80.5, 'a port must be an integer'],
  ])('fails if the port is %s', (port, why) => {
    const { mesh, ratings } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'ZeroTrust');
    const err = errorOf(() => zt.addPortException(ratings, port));
    expect(err).toBeInstanceOf(MeshPropsError);
    expect(err.message).toBe(
      `bookinfo/ZeroTrust: invalid props\n  - portException(ratings).port: ${why} (received ${port})`,
    );
  });
});

describe('ZeroTrustPolicy validation', () => {
  const fails = (props: ZeroTrustPolicyProps) =>
    errorOf(() => new ZeroTrustPolicy(newMesh(), 'ZeroTrust', props));

  test('fails if mtls is not an Istio mode', () => {
    expect(fails({ mtls: 'REQUIRED' as never }).message).toBe(
      'bookinfo/ZeroTrust: invalid props\n' +
        '  - mtls: Invalid option: expected one of "STRICT"|"PERMISSIVE"|"DISABLE" (received "REQUIRED")',
    );
  });

  test('fails listing every invalid prop at once, unknown keys included', () => {
    expect(fails({ allowNothing: 'yes' as never, allowIngress: false } as never).message).toBe(
      'bookinfo/ZeroTrust: invalid props\n' +
        '  - allowNothing: expected boolean (received "yes")\n' +
        '  - (props): unknown field "allowIngress": remove it or fix its spelling (received {"allowNothing":"yes","allowIngress":false})',
    );
  });

  test('fails if the mesh already has a ZeroTrustPolicy', () => {
    const mesh = newMesh();
    new ZeroTrustPolicy(mesh, 'ZeroTrust');
    expect(errorOf(() => new ZeroTrustPolicy(mesh, 'Another')).message).toBe(
      'bookinfo/Another: bookinfo already has a ZeroTrustPolicy (bookinfo/ZeroTrust); a mesh has one',
    );
  });

  test('fails if the policy is not inside a Mesh', () => {
    expect(errorOf(() => new ZeroTrustPolicy(new Chart(Testing.app(), 'plain'), 'ZeroTrust')).message).toBe(
      "plain/ZeroTrust: must be created inside a Mesh (new App(mesh, 'name', …))",
    );
  });
});

describe('ZeroTrustPolicy rule merging and repeated declarations', () => {
  test('callers with the same methods in another order share one rule', () => {
    const { mesh, productpage, details, reviews } = bookinfo();
    new ZeroTrustPolicy(mesh, 'zero-trust');
    productpage.calls(reviews, { methods: ['GET', 'POST'] });
    details.calls(reviews, { methods: ['POST', 'GET'] });
    expect(one(policies(mesh), 'AuthorizationPolicy', 'reviews-viewer').spec!.rules).toStrictEqual([
      { ...from(principal('productpage'), principal('details')), ...op({ methods: ['GET', 'POST'] }) },
    ]);
  });

  test('fails if a port-level exception is declared twice for the same workload and port', () => {
    const { mesh, productpage } = bookinfo();
    const zt = new ZeroTrustPolicy(mesh, 'zero-trust');
    zt.addPortException(productpage, 9080);
    expect(errorOf(() => zt.addPortException(productpage, 9080)).message).toBe(
      'bookinfo/zero-trust: productpage already has a port-level mTLS exception on port 9080; declare each port once',
    );
  });
});
