/** calls() options checked against the callee's protocol, and the ALLOW rules they become (constructs/calls.ts). */
import { Testing } from 'cdk8s';
import { App, Client, Mesh, MeshPropsError, validator, ZeroTrustPolicy } from '../../../constructs/index.js';
import { errorOf, newMesh, one, synth } from './helpers.js';

function mesh3() {
  const mesh = newMesh();
  new ZeroTrustPolicy(mesh, 'zero-trust');
  const web = new App(mesh, 'web', { image: 'x', port: 8080 });
  const cart = new App(mesh, 'cart', { image: 'x', protocol: 'grpc', port: 7070 });
  const redis = new App(mesh, 'redis', {
    image: 'x',
    ports: [{ port: 6379, protocol: 'tcp', name: 'tcp-redis' }],
  });
  return { mesh, web, cart, redis };
}
const rules = (mesh: Mesh, name: string) =>
  (one(synth(mesh), 'AuthorizationPolicy', `${name}-viewer`).spec as { rules: unknown }).rules;

describe('calls() by protocol', () => {
  test('gRPC: services become /package.Service/* paths, methods their own paths', () => {
    const { mesh, web, cart } = mesh3();
    web.calls(cart, {
      grpcServices: ['hipstershop.CartService'],
      grpcMethods: ['/hipstershop.Health/Check'],
    });
    expect(rules(mesh, 'cart')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/web'] } }],
        to: [{ operation: { paths: ['/hipstershop.CartService/*', '/hipstershop.Health/Check'] } }],
      },
    ]);
  });

  test('TCP: by principal and the container ports only, every TCP port by default', () => {
    const { mesh, cart, redis } = mesh3();
    cart.calls(redis);
    expect(rules(mesh, 'redis')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/cart'] } }],
        to: [{ operation: { ports: ['6379'] } }],
      },
    ]);
  });

  test('HTTP: methods, paths and a chosen Service port (as its container port)', () => {
    const mesh = newMesh();
    new ZeroTrustPolicy(mesh, 'zero-trust');
    const a = new App(mesh, 'a', { image: 'x' });
    const b = new App(mesh, 'b', { image: 'x', port: 80, targetPort: 8080 });
    a.calls(b, { methods: ['GET'], paths: ['/api/*'], ports: [80] });
    expect(rules(mesh, 'b')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/a'] } }],
        to: [{ operation: { methods: ['GET'], paths: ['/api/*'], ports: ['8080'] } }],
      },
    ]);
  });

  test('a Client (no Service) calls with its own principal', () => {
    const { mesh, web } = mesh3();
    new Client(mesh, 'loadgenerator', { image: 'lg' }).calls(web, { methods: ['GET', 'POST'] });
    expect(rules(mesh, 'web')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/loadgenerator'] } }],
        to: [{ operation: { methods: ['GET', 'POST'] } }],
      },
    ]);
  });

  test('fails if HTTP methods or paths are aimed at a TCP or gRPC callee, or gRPC options at an HTTP one', () => {
    const { web, cart, redis } = mesh3();
    const tcp = errorOf(() => cart.calls(redis, { methods: ['GET'] }));
    expect(tcp).toBeInstanceOf(MeshPropsError);
    expect(tcp.message).toBe(
      'bookinfo/cart: invalid props\n' +
        '  - calls(redis).methods: redis speaks tcp: Istio matches HTTP methods and paths only on HTTP, so a rule with them never matches a tcp connection; allow by ports only (received ["GET"])',
    );
    expect(errorOf(() => web.calls(cart, { paths: ['/x'] })).message).toContain(
      'calls(cart).paths: cart speaks gRPC: name its services (grpcServices) or methods (grpcMethods, /package.Service/Method) instead of paths',
    );
    expect(errorOf(() => cart.calls(web, { grpcServices: ['a.B'] })).message).toContain(
      'calls(web).grpcServices: web has no gRPC port (it speaks http)',
    );
  });

  test('fails on a bad method, path, gRPC name, unknown port or unknown option (not MESH000 at synth)', () => {
    const { web, cart, redis } = mesh3();
    const e = errorOf(() =>
      // @ts-expect-error an unknown option is refused
      web.calls(web, { methods: ['get'], paths: ['api'], verbs: ['GET'] }),
    );
    expect(e.message).toContain('calls(web).methods[0]: must be an upper-case HTTP method');
    expect(e.message).toContain('calls(web).paths[0]: must be a path such as /api, /api/* or *.js');
    expect(e.message).toContain('unknown field "verbs"');
    expect(errorOf(() => web.calls(cart, { grpcMethods: ['CartService.GetCart'] })).message).toContain(
      'calls(cart).grpcMethods[0]: must be a gRPC method path such as /hipstershop.CartService/GetCart',
    );
    expect(errorOf(() => cart.calls(redis, { ports: [6380] })).message).toContain(
      'calls(redis).ports: redis has no Service port 6380 (its ports: 6379)',
    );
  });

  test('fails if the caller runs without a sidecar: its principal could never match', () => {
    const mesh = newMesh();
    const legacy = new App(mesh, 'legacy', { image: 'x', sidecar: false });
    const web = new App(mesh, 'web', { image: 'x' });
    expect(errorOf(() => legacy.calls(web)).message).toContain(
      'legacy runs without the sidecar, so it has no mTLS identity and a rule naming its principal can never match; allow it with zeroTrust.allowOutsideMesh(web, { ipBlocks }) instead',
    );
  });
});

describe('duplicate names', () => {
  test('fails if two workloads share a name in a namespace', () => {
    const mesh = newMesh();
    new App(mesh, 'cart', { image: 'x' });
    expect(errorOf(() => new Client(mesh, 'cart2', { name: 'cart', image: 'x' })).message).toBe(
      'bookinfo/cart2: a workload named cart already exists in namespace default (bookinfo/cart); names of Services and Deployments must be unique: give one of them another name',
    );
  });

  test('fails if two share a ServiceAccount unless the second says so; then one ServiceAccount, one principal', () => {
    const mesh = newMesh();
    const a = new App(mesh, 'a', { image: 'x', serviceAccountName: 'shop' });
    expect(errorOf(() => new App(mesh, 'b', { image: 'x', serviceAccountName: 'shop' })).message).toBe(
      'bookinfo/b: ServiceAccount default/shop is already the identity of bookinfo/a; give b its own serviceAccountName, or set shareServiceAccount: true to give both the same principal',
    );
    const mesh2 = newMesh();
    const c = new App(mesh2, 'a', { image: 'x', serviceAccountName: 'shop' });
    const d = new App(mesh2, 'b', { image: 'x', serviceAccountName: 'shop', shareServiceAccount: true });
    expect(d.principal).toBe(c.principal);
    expect(
      synth(mesh2)
        .filter((o) => o.kind === 'ServiceAccount')
        .map((o) => o.metadata.name),
    ).toStrictEqual(['shop']);
    expect(a.principal).toBe('cluster.local/ns/default/sa/shop');
  });
});

describe('Meshes in different namespaces', () => {
  test('the ALLOW rule lands in the callee’s namespace and chart, with the caller’s principal; no MESH501/MESH507', () => {
    const app = Testing.app();
    const shop = new Mesh(app, 'shop', { namespace: 'shop', outboundTrafficPolicy: 'REGISTRY_ONLY' });
    const payments = new Mesh(app, 'payments', { namespace: 'payments' });
    new ZeroTrustPolicy(shop, 'zero-trust');
    new ZeroTrustPolicy(payments, 'zero-trust');
    const checkout = new App(shop, 'checkout', { image: 'x', protocol: 'grpc' });
    const pay = new App(payments, 'pay', { image: 'x', protocol: 'grpc', port: 50051 });
    checkout.calls(pay, { grpcServices: ['hipstershop.PaymentService'] });

    const shopObjs = synth(shop);
    const payObjs = synth(payments);
    expect(
      shopObjs.filter((o) => o.kind === 'AuthorizationPolicy').map((o) => o.metadata.name),
    ).toStrictEqual(['allow-nothing']);
    const policy = one(payObjs, 'AuthorizationPolicy', 'pay-viewer');
    expect(policy.metadata.namespace).toBe('payments');
    expect((policy.spec as { rules: unknown }).rules).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/shop/sa/checkout'] } }],
        to: [{ operation: { paths: ['/hipstershop.PaymentService/*'] } }],
      },
    ]);
    // The caller's namespace sees the callee's.
    expect((one(shopObjs, 'Sidecar', 'default').spec as { egress: unknown }).egress).toStrictEqual([
      { hosts: ['./*', 'istio-system/*', 'payments/*'] },
    ]);
    for (const m of [shop, payments]) {
      const codes = validator.validate(m.model()).map((f) => f.code);
      expect(codes.filter((c) => ['MESH501', 'MESH506', 'MESH507'].includes(c))).toStrictEqual([]);
    }
  });
});
