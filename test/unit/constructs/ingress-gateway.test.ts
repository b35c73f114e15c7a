import { Chart, Testing } from 'cdk8s';
import {
  App,
  IngressGateway,
  MeshPropsError,
  type IngressGatewayProps,
  type PathMatch,
} from '../../../constructs/index.js';
import { errorOf, names, newMesh, ofKind, one, synth } from './helpers.js';

function setup(props: IngressGatewayProps = {}, meshProps: Parameters<typeof newMesh>[0] = {}) {
  const mesh = newMesh(meshProps);
  const productpage = new App(mesh, 'productpage', { image: 'p:{version}', port: 9080 });
  const gw = new IngressGateway(mesh, 'bookinfo-gateway', props);
  return { mesh, productpage, gw };
}

/** A gateway with one catch-all route to productpage: Istio refuses a gateway VirtualService without routes. */
function routed(props: IngressGatewayProps = {}, meshProps: Parameters<typeof newMesh>[0] = {}) {
  const built = setup(props, meshProps);
  built.gw.route({ to: built.productpage });
  return built;
}

const httpServer = { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] };

describe('IngressGateway defaults', () => {
  test('a Gateway on port 80 for every host, selecting the Istio ingress gateway, and its VirtualService', () => {
    const { mesh, productpage, gw } = setup();
    gw.route({ paths: [{ exact: '/productpage' }, { prefix: '/static' }], to: productpage });
    const objs = synth(mesh);
    expect(ofKind(objs, 'Gateway')).toStrictEqual([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'bookinfo-gateway', namespace: 'default' },
        spec: { selector: { istio: 'ingressgateway' }, servers: [httpServer] },
      },
    ]);
    expect(one(objs, 'VirtualService', 'bookinfo-gateway')).toStrictEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'bookinfo-gateway', namespace: 'default' },
      spec: {
        hosts: ['*'],
        gateways: ['bookinfo-gateway'],
        http: [
          {
            match: [{ uri: { exact: '/productpage' } }, { uri: { prefix: '/static' } }],
            route: [{ destination: { host: 'productpage', port: { number: 9080 } } }],
          },
        ],
      },
    });
    expect(ofKind(objs, 'Certificate')).toStrictEqual([]);
    expect(gw.certificate).toBeUndefined();
    expect(gw.name).toBe('bookinfo-gateway');
    expect([...ofKind(objs, 'Gateway'), ...ofKind(objs, 'VirtualService')]).toMatchSnapshot();
  });

  test('the gateway peer is the Istio ingress gateway identity', () => {
    expect(setup().gw.peer).toStrictEqual({
      name: 'istio-ingressgateway',
      namespace: 'istio-system',
      serviceAccountName: 'istio-ingressgateway-service-account',
      principal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
      isIngressGateway: true,
    });
  });
});

describe('IngressGateway props', () => {
  test('name overrides the construct id; virtualServiceName names the VirtualService only', () => {
    const { mesh } = routed({ name: 'public', virtualServiceName: 'public-routes' });
    expect(names(ofKind(synth(mesh), 'Gateway'))).toStrictEqual(['Gateway/public']);
    const [vs] = ofKind(synth(mesh), 'VirtualService').filter((o) => o.metadata.name !== 'productpage');
    expect(vs!.metadata.name).toBe('public-routes');
    expect(vs!.spec!.gateways).toStrictEqual(['public']);
  });

  test('hosts are the server hosts and, by default, the VirtualService hosts', () => {
    const { mesh } = routed({ hosts: ['bookinfo.example.com', 'books.example.com'] });
    const objs = synth(mesh);
    expect(
      (one(objs, 'Gateway', 'bookinfo-gateway').spec!.servers as { hosts: string[] }[])[0]!.hosts,
    ).toStrictEqual(['bookinfo.example.com', 'books.example.com']);
    expect(one(objs, 'VirtualService', 'bookinfo-gateway').spec!.hosts).toStrictEqual([
      'bookinfo.example.com',
      'books.example.com',
    ]);
  });

  test('virtualServiceHosts narrows the VirtualService to some of the Gateway hosts', () => {
    const { mesh } = routed({ virtualServiceHosts: ['www.example.com'] });
    const objs = synth(mesh);
    expect(one(objs, 'Gateway', 'bookinfo-gateway').spec!.servers).toStrictEqual([httpServer]);
    expect(one(objs, 'VirtualService', 'bookinfo-gateway').spec!.hosts).toStrictEqual(['www.example.com']);
  });

  test('port sets the HTTP server port', () => {
    const { mesh } = routed({ port: 8080 });
    expect(one(synth(mesh), 'Gateway', 'bookinfo-gateway').spec!.servers).toStrictEqual([
      { ...httpServer, port: { number: 8080, name: 'http', protocol: 'HTTP' } },
    ]);
  });

  test('the mesh ingressGateway sets the Gateway selector and the peer principal', () => {
    const { mesh, gw } = routed(
      {},
      {
        trustDomain: 'example.org',
        ingressGateway: { selector: { app: 'edge' }, namespace: 'edge', serviceAccountName: 'edge-sa' },
      },
    );
    expect(one(synth(mesh), 'Gateway', 'bookinfo-gateway').spec!.selector).toStrictEqual({ app: 'edge' });
    expect(gw.peer.principal).toBe('example.org/ns/edge/sa/edge-sa');
  });
});

describe('IngressGateway TLS', () => {
  const tls = { dnsNames: ['bookinfo.example.com'], issuer: { name: 'letsencrypt' } };

  test('a Certificate in istio-system whose secret the HTTPS server names as credentialName', () => {
    const { mesh, gw } = routed({ tls });
    const objs = synth(mesh);
    expect(ofKind(objs, 'Certificate')).toStrictEqual([
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'bookinfo-gateway-cert', namespace: 'istio-system' },
        spec: {
          secretName: 'bookinfo-gateway-cert',
          dnsNames: ['bookinfo.example.com'],
          issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      },
    ]);
    expect(gw.certificate).toBeDefined();
    expect(one(objs, 'Gateway', 'bookinfo-gateway').spec!.servers).toStrictEqual([
      httpServer,
      {
        port: { number: 443, name: 'https', protocol: 'HTTPS' },
        hosts: ['bookinfo.example.com'],
        tls: { mode: 'SIMPLE', credentialName: 'bookinfo-gateway-cert' },
      },
    ]);
    // The VirtualService serves the Gateway hosts and the certificate names.
    expect(one(objs, 'VirtualService', 'bookinfo-gateway').spec!.hosts).toStrictEqual([
      '*',
      'bookinfo.example.com',
    ]);
  });

  test('port, credentialName and an Issuer (not ClusterIssuer); hosts shared with the certificate appear once', () => {
    const { mesh } = routed({
      hosts: ['bookinfo.example.com'],
      tls: {
        ...tls,
        port: 8443,
        credentialName: 'bookinfo-tls',
        issuer: { name: 'local-ca', kind: 'Issuer' },
      },
    });
    const objs = synth(mesh);
    expect(one(objs, 'Certificate', 'bookinfo-tls').spec).toStrictEqual({
      secretName: 'bookinfo-tls',
      dnsNames: ['bookinfo.example.com'],
      issuerRef: { name: 'local-ca', kind: 'Issuer', group: 'cert-manager.io' },
    });
    expect((one(objs, 'Gateway', 'bookinfo-gateway').spec!.servers as unknown[])[1]).toStrictEqual({
      port: { number: 8443, name: 'https', protocol: 'HTTPS' },
      hosts: ['bookinfo.example.com'],
      tls: { mode: 'SIMPLE', credentialName: 'bookinfo-tls' },
    });
    expect(one(objs, 'VirtualService', 'bookinfo-gateway').spec!.hosts).toStrictEqual([
      'bookinfo.example.com',
    ]);
  });

  test('the Certificate goes where the mesh ingress gateway runs', () => {
    const { mesh } = routed({ tls }, { ingressGateway: { namespace: 'edge' } });
    expect(ofKind(synth(mesh), 'Certificate')[0]!.metadata.namespace).toBe('edge');
  });

  test('httpsRedirect answers plain HTTP with a redirect', () => {
    const { mesh } = routed({ tls: { ...tls, httpsRedirect: true } });
    expect((one(synth(mesh), 'Gateway', 'bookinfo-gateway').spec!.servers as unknown[])[0]).toStrictEqual({
      ...httpServer,
      tls: { httpsRedirect: true },
    });
  });

  test('httpsRedirect false (the default) keeps the HTTP server plain', () => {
    const { mesh } = routed({ tls: { ...tls, httpsRedirect: false } });
    expect((one(synth(mesh), 'Gateway', 'bookinfo-gateway').spec!.servers as unknown[])[0]).toStrictEqual(
      httpServer,
    );
  });
});

describe('IngressGateway.route', () => {
  test('no paths: every path goes to the App; rules keep their order; port overrides the App port', () => {
    const { mesh, productpage, gw } = setup();
    const details = new App(mesh, 'details', { image: 'd', port: 9080 });
    gw.route({ paths: [{ prefix: '/api/v1/details' }], to: details, port: 9081 });
    gw.route({ to: productpage });
    expect(one(synth(mesh), 'VirtualService', 'bookinfo-gateway').spec!.http).toStrictEqual([
      {
        match: [{ uri: { prefix: '/api/v1/details' } }],
        route: [{ destination: { host: 'details', port: { number: 9081 } } }],
      },
      { route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] },
    ]);
  });

  test('an App in another namespace is reached by its FQDN', () => {
    const { mesh, gw } = setup();
    const ratings = new App(mesh, 'ratings', { image: 'r', namespace: 'ratings-ns', port: 9080 });
    gw.route({ paths: [{ prefix: '/ratings' }], to: ratings });
    expect(one(synth(mesh), 'VirtualService', 'bookinfo-gateway').spec!.http).toStrictEqual([
      {
        match: [{ uri: { prefix: '/ratings' } }],
        route: [{ destination: { host: 'ratings.ratings-ns.svc.cluster.local', port: { number: 9080 } } }],
      },
    ]);
  });

  test('the gateway becomes a caller of the App in the mesh call graph', () => {
    const { mesh, productpage, gw } = setup();
    gw.route({ to: productpage });
    expect(mesh.calls).toStrictEqual([{ from: gw.peer, to: productpage }]);
  });
});

describe('IngressGateway validation', () => {
  const fails = (props: IngressGatewayProps, id = 'bookinfo-gateway') =>
    errorOf(() => new IngressGateway(newMesh(), id, props));
  const message = (...lines: string[]) =>
    ['bookinfo/bookinfo-gateway: invalid props', ...lines.map((l) => `  - ${l}`)].join('\n');

  test('fails if a path match does not start with / or is not exact/prefix', () => {
    const { productpage, gw } = setup();
    gw.route({ to: productpage });
    const err = errorOf(() =>
      gw.route({
        paths: [
          { exact: 'productpage' },
          { regex: '/api/.*' } as unknown as PathMatch,
          { exact: '/a', prefix: '/b' } as never,
        ],
        to: productpage,
      }),
    );
    expect(err).toBeInstanceOf(MeshPropsError);
    expect(err.message).toBe(
      message(
        'routes[1].paths[0].exact: Invalid string: must start with "/" (received "productpage")',
        'routes[1].paths[1]: a path is { exact: "/…" } or { prefix: "/…" } (received {"regex":"/api/.*"})',
        'routes[1].paths[2]: a path is { exact: "/…" } or { prefix: "/…" } (received {"exact":"/a","prefix":"/b"})',
      ),
    );
  });

  test('fails if the name is not a DNS label', () => {
    expect(fails({}, 'Bookinfo Gateway').message).toBe(
      'bookinfo/Bookinfo Gateway: invalid props\n' +
        '  - name: must be a DNS-1123 label: lower-case letters, digits and "-" (received "Bookinfo Gateway")',
    );
  });

  test('fails if the port is not a port', () => {
    expect(fails({ port: 0 }).message).toBe(
      message('port: Too small: expected number to be >=1 (received 0)'),
    );
  });

  test('fails if hosts is empty', () => {
    expect(fails({ hosts: [] }).message).toBe(
      message('hosts: Too small: expected array to have >=1 items (received [])'),
    );
  });

  test('fails if the TLS certificate has no DNS name, an unknown issuer kind, or a bad credentialName', () => {
    expect(
      fails({
        tls: {
          dnsNames: [],
          issuer: { name: 'x', kind: 'Vault' as never },
          credentialName: 'My_Cert',
          port: 70000,
        },
      }).message,
    ).toBe(
      message(
        'tls.dnsNames: a certificate needs at least one DNS name (received [])',
        'tls.issuer.kind: Invalid option: expected one of "ClusterIssuer"|"Issuer" (received "Vault")',
        'tls.port: Too big: expected number to be <=65535 (received 70000)',
        'tls.credentialName: must be a DNS-1123 label: lower-case letters, digits and "-" (received "My_Cert")',
      ),
    );
  });

  test('fails if a prop key is unknown (strict objects)', () => {
    expect(
      fails({
        host: 'a.example.com',
        tls: { dnsNames: ['a'], issuer: { name: 'x' }, redirect: true },
      } as never).message,
    ).toBe(
      message(
        'tls: unknown field "redirect": remove it or fix its spelling (received {"dnsNames":["a"],"issuer":{"name":"x"},"redirect":true})',
        '(props): unknown field "host": remove it or fix its spelling (received {"host":"a.example.com","tls":{"dnsNames":["a"],"issuer":{"name":"x"},"redire...)',
      ),
    );
  });

  test('fails if the gateway is not inside a Mesh', () => {
    expect(errorOf(() => new IngressGateway(new Chart(Testing.app(), 'plain'), 'gw')).message).toBe(
      "plain/gw: must be created inside a Mesh (new App(mesh, 'name', …))",
    );
  });
});

describe('IngressGateway checks', () => {
  test('fails at synth if the gateway routes nothing (Istio refuses a VirtualService without routes)', () => {
    const { mesh } = setup();
    expect(() => Testing.synth(mesh)).toThrow(
      'IngressGateway bookinfo-gateway routes nothing: add a rule with route({ paths, to: app })',
    );
  });

  test('fails if a route port is not a port', () => {
    const { gw, productpage } = setup();
    expect(errorOf(() => gw.route({ to: productpage, port: 70000 })).message).toMatch(
      /^bookinfo\/bookinfo-gateway: invalid props\n {2}- routes\[0\]\.port: /,
    );
  });
});
