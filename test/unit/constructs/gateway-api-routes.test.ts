/** An App's routes, its ingress and its releases with the mesh's `trafficApi: 'gateway-api'`. */
import { Duration } from 'cdk8s';
import { App, CanaryRelease, IngressGateway } from '../../../constructs/index.js';
import { protocolOf } from '../../../api/v1alpha1/index.js';
import { errorOf, names, newMesh, ofKind, one, synth } from './helpers.js';

const gatewayApiMesh = () => newMesh({ trafficApi: 'gateway-api' });
const reviewsOf = (mesh = gatewayApiMesh()) =>
  new App(mesh, 'reviews', { image: 'reviews:{version}', port: 9080, versions: ['v1', 'v2', 'v3'] });

describe('App routes as an HTTPRoute', () => {
  test('a header route and a weighted route with a mirror: Service parent, one backend Service per version', () => {
    const reviews = reviewsOf();
    reviews.addRoute({
      name: 'jason',
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      to: [{ subset: 'v2' }],
    });
    reviews.addRoute({
      name: 'primary',
      to: [
        { subset: 'v1', weight: 80 },
        { subset: 'v3', weight: 20 },
      ],
      timeout: Duration.seconds(3),
      mirror: { subset: 'v2', percentage: 10 },
    });
    const objs = synth(reviews.mesh);
    expect(ofKind(objs, 'VirtualService')).toEqual([]);
    expect(one(objs, 'HTTPRoute', 'reviews')).toStrictEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews' } },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
        rules: [
          {
            name: 'jason',
            matches: [{ headers: [{ name: 'end-user', type: 'Exact', value: 'jason' }] }],
            backendRefs: [{ name: 'reviews-v2', port: 9080 }],
          },
          {
            name: 'primary',
            filters: [
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, percent: 10 },
              },
            ],
            backendRefs: [
              { name: 'reviews-v1', port: 9080, weight: 80 },
              { name: 'reviews-v3', port: 9080, weight: 20 },
            ],
            timeouts: { request: '3s' },
          },
        ],
      },
    });
    expect(ofKind(objs, 'Service').map((s) => s.metadata.name)).toEqual([
      'reviews',
      'reviews-v2',
      'reviews-v1',
      'reviews-v3',
    ]);
    expect(one(objs, 'Service', 'reviews-v3').spec).toMatchObject({
      selector: { app: 'reviews', version: 'v3' },
      ports: [{ name: 'http', port: 9080, targetPort: 9080 }],
    });
    // No subsets to address: no DestinationRule without a traffic policy.
    expect(ofKind(objs, 'DestinationRule')).toEqual([]);
    expect(reviews.destinationRule).toBeUndefined();
  });

  test('path prefixes keep their Istio meaning: element prefixes as PathPrefix, others as the exact regex', () => {
    const reviews = reviewsOf();
    reviews.addRoute({
      match: [{ uri: { prefix: '/api/' } }, { uri: { prefix: '/v1.0' } }],
      to: [{ subset: 'v1' }],
    });
    reviews.addRoute({ match: [{ queryParams: { q: { prefix: 'a+b' } } }], to: [{ subset: 'v2' }] });
    const rules = (one(synth(reviews.mesh), 'HTTPRoute', 'reviews').spec as { rules: { matches: unknown }[] })
      .rules;
    expect(rules.map((r) => r.matches)).toStrictEqual([
      [
        { path: { type: 'PathPrefix', value: '/api/' } },
        { path: { type: 'RegularExpression', value: '/v1\\.0.*' } },
      ],
      [{ queryParams: [{ name: 'q', type: 'RegularExpression', value: 'a\\+b.*' }] }],
    ]);
  });

  test('traffic policies go on DestinationRules of the version Services, the version overriding the App', () => {
    const mesh = gatewayApiMesh();
    const ratings = new App(mesh, 'ratings', {
      image: 'r:{version}',
      trafficPolicy: { connectionPool: { maxConnections: 10 } },
      versions: ['v1', { name: 'v2', trafficPolicy: { connectionPool: { maxConnections: 99 } } }],
    });
    const objs = synth(mesh);
    expect(ofKind(objs, 'DestinationRule').map((d) => [d.metadata.name, d.spec])).toStrictEqual([
      ['ratings', { host: 'ratings', trafficPolicy: { connectionPool: { tcp: { maxConnections: 10 } } } }],
      [
        'ratings-v1',
        { host: 'ratings-v1', trafficPolicy: { connectionPool: { tcp: { maxConnections: 10 } } } },
      ],
      [
        'ratings-v2',
        { host: 'ratings-v2', trafficPolicy: { connectionPool: { tcp: { maxConnections: 99 } } } },
      ],
    ]);
    expect(ratings.destinationRule?.name).toBe('ratings');
  });

  test('a gRPC App gets a GRPCRoute with header matches', () => {
    const mesh = gatewayApiMesh();
    const echo = new App(mesh, 'echo', {
      image: 'e:{version}',
      protocol: 'grpc',
      port: 50051,
      versions: ['v1', 'v2'],
    });
    echo.addRoute({ match: [{ headers: { 'x-canary': { exact: 'yes' } } }], to: [{ subset: 'v2' }] });
    echo.addRoute({
      name: 'primary',
      to: [
        { subset: 'v1', weight: 100 },
        { subset: 'v2', weight: 0 },
      ],
    });
    const objs = synth(mesh);
    expect(ofKind(objs, 'HTTPRoute')).toEqual([]);
    expect(one(objs, 'GRPCRoute', 'echo').spec).toStrictEqual({
      parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 50051 }],
      rules: [
        {
          matches: [{ headers: [{ name: 'x-canary', type: 'Exact', value: 'yes' }] }],
          backendRefs: [{ name: 'echo-v2', port: 50051 }],
        },
        {
          name: 'primary',
          backendRefs: [
            { name: 'echo-v1', port: 50051, weight: 100 },
            { name: 'echo-v2', port: 50051, weight: 0 },
          ],
        },
      ],
    });
  });

  test('fails if a route uses what the Gateway API cannot express, naming every field and the reason', () => {
    const reviews = reviewsOf();
    const err = errorOf(() =>
      reviews.addRoute({
        name: 'Primary Route',
        match: [{ port: 9080, method: { prefix: 'G' } }],
        to: [{ subset: 'v1' }],
        fault: { abort: { httpStatus: 500 } },
        retries: { attempts: 2 },
      }),
    );
    expect(err.message).toBe(
      [
        'bookinfo/reviews: invalid props',
        '  - routes[0].name: an HTTPRoute rule name is a lower-case DNS name (letters, digits, "-" and ".")',
        "  - routes[0].fault: the Gateway API has no fault injection (HTTPRoute filters are header modifiers, redirect, rewrite and mirror); use trafficApi: 'istio' for fault tests",
        "  - routes[0].retries: HTTPRoute retry is only in the Gateway API's experimental channel, not in the standard CRDs Istio 1.30 installs; drop retries or use trafficApi: 'istio'",
        "  - routes[0].match[0].port: an HTTPRoute rule cannot match a port (its parentRef's port selects it); drop port",
        "  - routes[0].match[0].method: an HTTPRoute matches a method exactly, one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH; write { exact: 'GET' }",
      ].join('\n'),
    );
    expect(reviews.routes).toEqual([]);
  });

  test('fails if a gRPC route matches a path or sets a timeout', () => {
    const echo = new App(gatewayApiMesh(), 'echo', { image: 'e:1', protocol: 'grpc' });
    const err = errorOf(() =>
      echo.addRoute({
        match: [{ uri: { exact: '/x' } }],
        to: [{ subset: 'v1' }],
        timeout: Duration.seconds(1),
      }),
    );
    expect(err.message).toContain(
      "routes[0].timeout: a GRPCRoute rule has no timeouts; drop timeout or use trafficApi: 'istio'",
    );
    expect(err.message).toContain(
      "routes[0].match[0].uri: a GRPCRoute matches gRPC service/method and headers, not uri; match on headers or use trafficApi: 'istio'",
    );
  });

  test('a CanaryRelease drives the rule of the App’s HTTPRoute, which it owns: the route travels as its template, weights on the per-version Services', () => {
    const reviews = reviewsOf();
    const release = new CanaryRelease(reviews.mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      steps: [
        { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
        { setWeight: 10 },
      ],
    });
    const objs = synth(reviews.mesh);
    expect(one(objs, 'CanaryRelease', 'reviews').spec).toStrictEqual({
      steps: [
        { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
        { setWeight: 10 },
      ],
      service: 'reviews',
      stable: { subset: 'v1', deployment: 'reviews-v1' },
      canary: { subset: 'v3', deployment: 'reviews-v3' },
      httpRoute: {
        name: 'reviews',
        rule: 'primary',
        // the operator owns the HTTPRoute: GitOps carries it here, not as an object
        template: {
          metadata: { labels: { app: 'reviews' } },
          spec: {
            parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
            // the route the release starts from: stable 100, canary 0
            rules: [
              {
                name: 'primary',
                backendRefs: [
                  { name: 'reviews-v1', port: 9080, weight: 100 },
                  { name: 'reviews-v3', port: 9080, weight: 0 },
                ],
              },
            ],
          },
        },
      },
    });
    expect(release.spec.httpRoute?.name).toBe('reviews');
    expect(ofKind(objs, 'HTTPRoute')).toStrictEqual([]);
    expect(names(objs)).toEqual(expect.arrayContaining(['Service/reviews-v1', 'Service/reviews-v3']));
  });

  test('with ownRoute: false the HTTPRoute is synthesized as it is and the release names its rule only', () => {
    const reviews = reviewsOf();
    new CanaryRelease(reviews.mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      ownRoute: false,
      steps: [{ setWeight: 10 }],
    });
    const objs = synth(reviews.mesh);
    expect(one(objs, 'CanaryRelease', 'reviews').spec!.httpRoute).toStrictEqual({
      name: 'reviews',
      rule: 'primary',
    });
    expect(one(objs, 'HTTPRoute', 'reviews').spec!.rules).toStrictEqual([
      {
        name: 'primary',
        backendRefs: [
          { name: 'reviews-v1', port: 9080, weight: 100 },
          { name: 'reviews-v3', port: 9080, weight: 0 },
        ],
      },
    ]);
  });

  test('a gRPC App’s release drives its GRPCRoute and counts gRPC errors', () => {
    const cart = new App(gatewayApiMesh(), 'cart', {
      image: 'cart:{version}',
      port: 7070,
      protocol: 'grpc',
      versions: ['v1', 'v2'],
    });
    const release = new CanaryRelease(cart.mesh, 'release', {
      app: cart,
      stable: 'v1',
      canary: 'v2',
      stepWeight: 20,
      maxWeight: 60,
    });
    const objs = synth(cart.mesh);
    expect(one(objs, 'CanaryRelease', 'cart').spec!.grpcRoute).toStrictEqual({
      name: 'cart',
      rule: 'primary',
      template: {
        metadata: { labels: { app: 'cart' } },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 7070 }],
          rules: [
            {
              name: 'primary',
              backendRefs: [
                { name: 'cart-v1', port: 7070, weight: 100 },
                { name: 'cart-v2', port: 7070, weight: 0 },
              ],
            },
          ],
        },
      },
    });
    expect(ofKind(objs, 'GRPCRoute')).toStrictEqual([]);
    expect(protocolOf(release.spec)).toBe('grpc');
  });

  test('fails if a CanaryRelease on the Gateway API plans a fault test: the Gateway API has no fault injection', () => {
    const reviews = reviewsOf();
    const err = errorOf(
      () =>
        new CanaryRelease(reviews.mesh, 'release', {
          app: reviews,
          stable: 'v1',
          canary: 'v3',
          steps: [{ setWeight: 10 }, { faultTest: { abort: { httpStatus: 503 }, duration: '1m' } }],
        }),
    );
    expect(err.message).toContain(
      'steps: faultTest steps need a virtualService: the Gateway API has no fault injection field',
    );
  });
});

describe('IngressGateway as a Gateway of class istio', () => {
  test('Gateway, HTTPRoute to the App, and the gateway principal Istio gives its deployment', () => {
    const mesh = gatewayApiMesh();
    const productpage = new App(mesh, 'productpage', { image: 'p:1', port: 9080 });
    const gw = new IngressGateway(mesh, 'bookinfo-gateway', { port: 8080, virtualServiceName: 'bookinfo' });
    gw.route({ paths: [{ exact: '/productpage' }, { prefix: '/static' }], to: productpage });
    const objs = synth(mesh);
    expect(one(objs, 'Gateway', 'bookinfo-gateway')).toStrictEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bookinfo-gateway', namespace: 'default' },
      spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
    });
    expect(one(objs, 'HTTPRoute', 'bookinfo').spec).toStrictEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'bookinfo-gateway' }],
      rules: [
        {
          matches: [
            { path: { type: 'Exact', value: '/productpage' } },
            { path: { type: 'RegularExpression', value: '/static.*' } },
          ],
          backendRefs: [{ name: 'productpage', port: 9080 }],
        },
      ],
    });
    expect(gw.peer.principal).toBe('cluster.local/ns/default/sa/bookinfo-gateway-istio');
    expect(mesh.calls.map((c) => `${c.from.principal} -> ${c.to.name}`)).toEqual([
      'cluster.local/ns/default/sa/bookinfo-gateway-istio -> productpage',
    ]);
    expect(names(objs).filter((n) => n.startsWith('VirtualService'))).toEqual([]);
  });

  test('HTTPS: listener with the certificate in the mesh namespace, routes on https, a redirect on http', () => {
    const mesh = gatewayApiMesh();
    const productpage = new App(mesh, 'productpage', { image: 'p:1', port: 9080 });
    new IngressGateway(mesh, 'gw', {
      hosts: ['bookinfo.example.com'],
      tls: { dnsNames: ['bookinfo.example.com'], issuer: { name: 'letsencrypt' }, httpsRedirect: true },
    }).route({ to: productpage });
    const objs = synth(mesh);
    expect((one(objs, 'Gateway', 'gw').spec as { listeners: unknown[] }).listeners[1]).toStrictEqual({
      name: 'https',
      port: 443,
      protocol: 'HTTPS',
      tls: { mode: 'Terminate', certificateRefs: [{ group: '', kind: 'Secret', name: 'gw-cert' }] },
    });
    expect(one(objs, 'Certificate', 'gw-cert').metadata.namespace).toBe('default');
    expect((one(objs, 'HTTPRoute', 'gw').spec as { parentRefs: unknown }).parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', sectionName: 'https' },
    ]);
    expect(one(objs, 'HTTPRoute', 'gw-https-redirect').spec).toStrictEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', sectionName: 'http' }],
      hostnames: ['bookinfo.example.com'],
      rules: [
        { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] },
      ],
    });
  });

  test('fails if it routes to an App of another namespace (that needs a ReferenceGrant)', () => {
    const mesh = gatewayApiMesh();
    const other = new App(mesh, 'ratings', { image: 'r:1', namespace: 'other' });
    const err = errorOf(() => new IngressGateway(mesh, 'gw').route({ to: other }));
    expect(err.message).toContain('routes[0].to: ratings is in namespace other: an HTTPRoute');
  });
});
