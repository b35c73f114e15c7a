import { Chart, Duration, Testing } from 'cdk8s';
import { App, MeshPropsError, type AppProps } from '../../../constructs/index.js';
import { errorOf, names, newMesh, ofKind, one, synth, type K8sObject } from './helpers.js';

interface Container {
  name: string;
  image: string;
  ports: { containerPort: number }[];
  env?: { name: string; value: string }[];
  volumeMounts?: { mountPath: string; name: string }[];
  securityContext: Record<string, unknown>;
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName: string;
    automountServiceAccountToken: boolean;
    securityContext: Record<string, unknown>;
    containers: Container[];
    volumes?: { name: string; emptyDir: Record<string, never> }[];
  };
}
const template = (d: K8sObject) => d.spec!.template as PodTemplate;
const container = (d: K8sObject) => template(d).spec.containers[0]!;

/** The App and its synthesized objects. */
function build(props: AppProps, id = 'reviews') {
  const mesh = newMesh();
  const app = new App(mesh, id, props);
  return { mesh, app, objs: synth(mesh).filter((o) => o.kind !== 'Namespace') };
}

const restrictedContainer = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('App defaults', () => {
  const { app, objs } = build({ image: 'registry/reviews-{version}:1.0' });

  test('one version v1: ServiceAccount, Service, Deployment reviews-v1, DestinationRule; no VirtualService', () => {
    expect(names(objs)).toStrictEqual([
      'ServiceAccount/reviews',
      'Service/reviews',
      'Deployment/reviews-v1',
      'DestinationRule/reviews',
    ]);
    expect(app.virtualService).toBeUndefined();
    expect(app.routes).toStrictEqual([]);
    expect(objs).toMatchSnapshot();
  });

  test('the ServiceAccount, named after the App, does not mount its token', () => {
    expect(ofKind(objs, 'ServiceAccount')).toStrictEqual([
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews', account: 'reviews' } },
        automountServiceAccountToken: false,
      },
    ]);
  });

  test('the Service: port 80 named http (Istio protocol naming), selecting app=reviews', () => {
    expect(ofKind(objs, 'Service')).toStrictEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews', service: 'reviews' } },
        spec: {
          externalIPs: [],
          ports: [{ name: 'http', port: 80, targetPort: 80 }],
          selector: { app: 'reviews' },
          type: 'ClusterIP',
        },
      },
    ]);
  });

  test('the Deployment: app/version labels, 1 replica, the image with {version} replaced, Pod Security restricted', () => {
    const d = one(objs, 'Deployment', 'reviews-v1');
    expect(d.metadata).toStrictEqual({
      name: 'reviews-v1',
      namespace: 'default',
      labels: { app: 'reviews', version: 'v1' },
    });
    expect(d.spec!.replicas).toBe(1);
    expect(d.spec!.selector).toStrictEqual({ matchLabels: { app: 'reviews', version: 'v1' } });
    expect(template(d).metadata).toStrictEqual({
      labels: { app: 'reviews', version: 'v1', 'cdk8s.io/metadata.addr': expect.any(String) },
    });
    expect(template(d).spec.serviceAccountName).toBe('reviews');
    expect(template(d).spec.automountServiceAccountToken).toBe(false);
    expect(template(d).spec.securityContext).toMatchObject({ runAsNonRoot: true });
    const c = container(d);
    expect(c.name).toBe('reviews');
    expect(c.image).toBe('registry/reviews-v1:1.0');
    expect(c.ports).toStrictEqual([{ containerPort: 80 }]);
    expect(c.env).toBeUndefined();
    expect(c.securityContext).toStrictEqual(restrictedContainer);
  });

  test('/tmp is writable (an emptyDir), the root filesystem being read-only', () => {
    const d = one(objs, 'Deployment', 'reviews-v1');
    expect(container(d).volumeMounts).toStrictEqual([{ mountPath: '/tmp', name: 'writable-0' }]);
    expect(template(d).spec.volumes).toStrictEqual([{ name: 'writable-0', emptyDir: {} }]);
  });

  test('the DestinationRule: one subset per version, labelled by version, no traffic policy', () => {
    expect(ofKind(objs, 'DestinationRule')).toStrictEqual([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews' } },
        spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
      },
    ]);
  });

  test('identity and addressing', () => {
    expect({
      name: app.name,
      namespace: app.namespace,
      serviceAccountName: app.serviceAccountName,
      principal: app.principal,
      selector: app.selector,
      port: app.port,
      protocol: app.protocol,
      versions: app.versions,
      host: app.host,
      fqdn: app.fqdn,
    }).toStrictEqual({
      name: 'reviews',
      namespace: 'default',
      serviceAccountName: 'reviews',
      principal: 'cluster.local/ns/default/sa/reviews',
      selector: { app: 'reviews' },
      port: 80,
      protocol: 'http',
      versions: ['v1'],
      host: 'reviews',
      fqdn: 'reviews.default.svc.cluster.local',
    });
    expect(Object.keys(app.deployments)).toStrictEqual(['v1']);
  });

  test('no sidecar opt-out annotation, no EnvoyFilter', () => {
    expect(template(one(objs, 'Deployment', 'reviews-v1')).metadata.annotations).toBeUndefined();
    expect(ofKind(objs, 'EnvoyFilter')).toStrictEqual([]);
  });
});

describe('App props', () => {
  test('name overrides the construct id everywhere', () => {
    const { app, objs } = build({ name: 'ratings', image: 'x' }, 'Ratings');
    expect(app.name).toBe('ratings');
    expect(names(objs)).toStrictEqual([
      'ServiceAccount/ratings',
      'Service/ratings',
      'Deployment/ratings-v1',
      'DestinationRule/ratings',
    ]);
  });

  test('versions: a Deployment and a subset each, in order; {version} replaced in every place', () => {
    const { app, objs } = build({ image: 'r/{version}/img:{version}', versions: ['v1', 'v2', 'v3'] });
    expect(app.versions).toStrictEqual(['v1', 'v2', 'v3']);
    expect(ofKind(objs, 'Deployment').map((d) => [d.metadata.name, container(d).image])).toStrictEqual([
      ['reviews-v1', 'r/v1/img:v1'],
      ['reviews-v2', 'r/v2/img:v2'],
      ['reviews-v3', 'r/v3/img:v3'],
    ]);
    expect(one(objs, 'DestinationRule', 'reviews').spec!.subsets).toStrictEqual(
      ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })),
    );
  });

  test('a version object sets its own image, replicas and subset traffic policy', () => {
    const { objs } = build({
      image: 'r:{version}',
      replicas: 2,
      versions: [
        'v1',
        { name: 'v2', image: 'other:2', replicas: 5, trafficPolicy: { loadBalancer: 'RANDOM' } },
      ],
    });
    const [v1, v2] = ofKind(objs, 'Deployment');
    expect([container(v1!).image, v1!.spec!.replicas]).toStrictEqual(['r:v1', 2]);
    expect([container(v2!).image, v2!.spec!.replicas]).toStrictEqual(['other:2', 5]);
    expect(one(objs, 'DestinationRule', 'reviews').spec).toStrictEqual({
      host: 'reviews',
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
      ],
    });
  });

  test('deploy false declares the subset only, and needs no image', () => {
    const { app, objs } = build({
      versions: [
        { name: 'v1', image: 'a:1' },
        { name: 'v2', deploy: false },
      ],
    });
    expect(ofKind(objs, 'Deployment').map((d) => d.metadata.name)).toStrictEqual(['reviews-v1']);
    expect(Object.keys(app.deployments)).toStrictEqual(['v1']);
    expect(app.versions).toStrictEqual(['v1', 'v2']);
    expect((one(objs, 'DestinationRule', 'reviews').spec!.subsets as unknown[]).length).toBe(2);
  });

  test('replicas 0 is allowed (a scaled-down version)', () => {
    expect(one(build({ image: 'x', replicas: 0 }).objs, 'Deployment', 'reviews-v1').spec!.replicas).toBe(0);
  });

  test('port sets the Service port, and the container port when targetPort is left out', () => {
    const { app, objs } = build({ image: 'x', port: 9080 });
    expect(app.port).toBe(9080);
    expect((one(objs, 'Service', 'reviews').spec!.ports as unknown[])[0]).toStrictEqual({
      name: 'http',
      port: 9080,
      targetPort: 9080,
    });
    expect(container(one(objs, 'Deployment', 'reviews-v1')).ports).toStrictEqual([{ containerPort: 9080 }]);
  });

  test('targetPort sets the container port and the Service targetPort', () => {
    const { objs } = build({ image: 'x', port: 80, targetPort: 8080 });
    expect((one(objs, 'Service', 'reviews').spec!.ports as unknown[])[0]).toStrictEqual({
      name: 'http',
      port: 80,
      targetPort: 8080,
    });
    expect(container(one(objs, 'Deployment', 'reviews-v1')).ports).toStrictEqual([{ containerPort: 8080 }]);
  });

  test.each(['http', 'http2', 'grpc', 'https', 'tcp', 'tls'] as const)(
    'protocol %s names the port',
    (protocol) => {
      const { app, objs } = build({ image: 'x', protocol });
      expect(app.protocol).toBe(protocol);
      expect(
        (one(objs, 'Service', 'reviews').spec!.ports as { name: string }[]).map((p) => p.name),
      ).toStrictEqual([protocol]);
    },
  );

  test('namespace moves every object of the App, its principal and FQDN', () => {
    const { app, objs } = build({ image: 'x', namespace: 'ratings-ns' });
    expect(objs.map((o) => o.metadata.namespace)).toStrictEqual([
      'ratings-ns',
      'ratings-ns',
      'ratings-ns',
      'ratings-ns',
    ]);
    expect(app.principal).toBe('cluster.local/ns/ratings-ns/sa/reviews');
    expect(app.fqdn).toBe('reviews.ratings-ns.svc.cluster.local');
    expect(app.host).toBe('reviews');
  });

  test('serviceAccountName names the ServiceAccount the pods run as, and the principal', () => {
    const { app, objs } = build({ image: 'x', serviceAccountName: 'bookinfo-reviews' });
    expect(one(objs, 'ServiceAccount', 'bookinfo-reviews').metadata.labels).toStrictEqual({
      app: 'reviews',
      account: 'reviews',
    });
    expect(template(one(objs, 'Deployment', 'reviews-v1')).spec.serviceAccountName).toBe('bookinfo-reviews');
    expect(app.principal).toBe('cluster.local/ns/default/sa/bookinfo-reviews');
  });

  test('env sets the container environment', () => {
    const { objs } = build({ image: 'x', env: { LOG_DIR: '/tmp/logs', MODE: 'a' } });
    expect(container(one(objs, 'Deployment', 'reviews-v1')).env).toStrictEqual([
      { name: 'LOG_DIR', value: '/tmp/logs' },
      { name: 'MODE', value: 'a' },
    ]);
  });

  test('writablePaths: one emptyDir per path, replacing the /tmp default', () => {
    const { objs } = build({ image: 'x', writablePaths: ['/tmp', '/opt/output'] });
    const d = one(objs, 'Deployment', 'reviews-v1');
    expect(container(d).volumeMounts).toStrictEqual([
      { mountPath: '/tmp', name: 'writable-0' },
      { mountPath: '/opt/output', name: 'writable-1' },
    ]);
    expect(template(d).spec.volumes).toStrictEqual([
      { name: 'writable-0', emptyDir: {} },
      { name: 'writable-1', emptyDir: {} },
    ]);
    const none = one(build({ image: 'x', writablePaths: [] }).objs, 'Deployment', 'reviews-v1');
    expect(container(none).volumeMounts).toBeUndefined();
  });

  test('trafficPolicy is the DestinationRule trafficPolicy for every subset', () => {
    const { objs } = build({
      image: 'x',
      trafficPolicy: { loadBalancer: 'LEAST_REQUEST', tls: 'ISTIO_MUTUAL' },
    });
    expect(one(objs, 'DestinationRule', 'reviews').spec).toStrictEqual({
      host: 'reviews',
      trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' }, tls: { mode: 'ISTIO_MUTUAL' } },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }],
    });
  });

  test('sidecar false annotates the pods to opt out of injection', () => {
    const { objs } = build({ image: 'x', sidecar: false });
    expect(template(one(objs, 'Deployment', 'reviews-v1')).metadata.annotations).toStrictEqual({
      'sidecar.istio.io/inject': 'false',
    });
  });

  describe('rateLimit', () => {
    const envoyFilter = (maxTokens: number, tokensPerFill: number, fillInterval: string) => ({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'reviews-local-ratelimit', namespace: 'default', labels: { app: 'reviews' } },
      spec: {
        workloadSelector: { labels: { app: 'reviews' } },
        priority: 10,
        configPatches: [
          {
            applyTo: 'HTTP_FILTER',
            match: {
              context: 'SIDECAR_INBOUND',
              listener: {
                filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } },
              },
            },
            patch: {
              operation: 'INSERT_BEFORE',
              value: {
                name: 'envoy.filters.http.local_ratelimit',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                  stat_prefix: 'http_local_rate_limiter',
                  token_bucket: {
                    max_tokens: maxTokens,
                    tokens_per_fill: tokensPerFill,
                    fill_interval: fillInterval,
                  },
                  filter_enabled: {
                    runtime_key: 'local_rate_limit_enabled',
                    default_value: { numerator: 100, denominator: 'HUNDRED' },
                  },
                  filter_enforced: {
                    runtime_key: 'local_rate_limit_enforced',
                    default_value: { numerator: 100, denominator: 'HUNDRED' },
                  },
                  response_headers_to_add: [
                    {
                      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
                      header: { key: 'x-local-rate-limit', value: 'true' },
                    },
                  ],
                },
              },
            },
          },
        ],
      },
    });

    test('an EnvoyFilter on the App pods; tokensPerFill defaults to maxTokens', () => {
      const { objs } = build({ image: 'x', rateLimit: { maxTokens: 10, fillInterval: Duration.minutes(1) } });
      expect(ofKind(objs, 'EnvoyFilter')).toStrictEqual([envoyFilter(10, 10, '60s')]);
    });

    test('tokensPerFill, and a fill interval under a second in protobuf decimal seconds', () => {
      const { objs } = build({
        image: 'x',
        rateLimit: { maxTokens: 10, tokensPerFill: 2, fillInterval: Duration.millis(500) },
      });
      expect(ofKind(objs, 'EnvoyFilter')).toStrictEqual([envoyFilter(10, 2, '0.5s')]);
    });

    test('addLocalRateLimit returns the EnvoyFilter it adds', () => {
      const { mesh, app } = build({ image: 'x' });
      const ef = app.addLocalRateLimit({ maxTokens: 5, fillInterval: Duration.seconds(1) });
      expect(ofKind(synth(mesh), 'EnvoyFilter')).toStrictEqual([envoyFilter(5, 5, '1s')]);
      expect(ef.metadata.name).toBe('reviews-local-ratelimit');
    });

    test('fails if addLocalRateLimit gets an invalid limit', () => {
      const { app } = build({ image: 'x' });
      expect(
        errorOf(() => app.addLocalRateLimit({ maxTokens: 0, fillInterval: 1 as unknown as Duration }))
          .message,
      ).toBe(
        'bookinfo/reviews: invalid props\n' +
          '  - rateLimit.maxTokens: Too small: expected number to be >=1 (received 0)\n' +
          '  - rateLimit.fillInterval: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 1)',
      );
    });
  });

  test('calls records an edge of the mesh call graph', () => {
    const mesh = newMesh();
    const productpage = new App(mesh, 'productpage', { image: 'x' });
    const reviews = new App(mesh, 'reviews', { image: 'x' });
    productpage.calls(reviews, { methods: ['GET'] });
    expect(mesh.calls.length).toBe(1);
    const [call] = mesh.calls;
    // Compared field by field: a failing deep comparison of constructs would print their whole tree.
    expect(call!.from === productpage && call!.to === reviews).toBe(true);
    expect(call!.methods).toStrictEqual(['GET']);
    expect(Object.keys(call!).sort()).toStrictEqual(['from', 'methods', 'to']);
  });
});

describe('App validation', () => {
  const fails = (props: AppProps, id = 'reviews') => errorOf(() => new App(newMesh(), id, props));

  test('fails if no image is given for a deployed version', () => {
    const err = fails({ versions: ['v1', { name: 'v2', image: 'own:2' }, { name: 'v3', deploy: false }] });
    expect(err).toBeInstanceOf(MeshPropsError);
    expect(err.message).toBe(
      'bookinfo/reviews: invalid props\n' +
        "  - image: version 'v1' (versions[0]) has no image: set the App's image (with {version}) or the version's (received nothing)",
    );
  });

  test('fails if a version is declared twice', () => {
    expect(fails({ image: 'x', versions: ['v1', 'v2', { name: 'v1' }] }).message).toBe(
      'bookinfo/reviews: invalid props\n  - versions[2]: version \'v1\' is declared twice (received {"name":"v1"})',
    );
  });

  test('fails if there is no version', () => {
    expect(fails({ image: 'x', versions: [] }).message).toBe(
      'bookinfo/reviews: invalid props\n  - versions: an App needs at least one version (received [])',
    );
  });

  test.each([
    ['the construct id, used as name', {}, 'Reviews', 'name', '"Reviews"'],
    ['name', { name: 'reviews_v1' }, 'reviews', 'name', '"reviews_v1"'],
    ['a version', { versions: ['V1'] }, 'reviews', 'versions[0]', '"V1"'],
    ['a version object name', { versions: [{ name: 'v.1' }] }, 'reviews', 'versions[0].name', '"v.1"'],
    ['namespace', { namespace: 'Shop' }, 'reviews', 'namespace', '"Shop"'],
    ['serviceAccountName', { serviceAccountName: 'sa@x' }, 'reviews', 'serviceAccountName', '"sa@x"'],
  ] as const)('fails if %s is not a DNS label', (_what, props, id, field, received) => {
    expect(fails({ image: 'x', ...props } as AppProps, id).message).toBe(
      `bookinfo/${id}: invalid props\n` +
        `  - ${field}: must be a DNS-1123 label: lower-case letters, digits and "-" (received ${received})`,
    );
  });

  test.each([
    ['port', { port: 0 }, 'Too small: expected number to be >=1', '0'],
    ['port', { port: 65536 }, 'Too big: expected number to be <=65535', '65536'],
    ['port', { port: 80.5 }, 'a port must be an integer', '80.5'],
    ['targetPort', { targetPort: -1 }, 'Too small: expected number to be >=1', '-1'],
  ] as const)('fails if %s is %j', (field, props, message, received) => {
    expect(fails({ image: 'x', ...props }).message).toBe(
      `bookinfo/reviews: invalid props\n  - ${field}: ${message} (received ${received})`,
    );
  });

  test('fails if the protocol is not one of Istio port names', () => {
    expect(fails({ image: 'x', protocol: 'udp' as never }).message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - protocol: Invalid option: expected one of "http"|"http2"|"grpc"|"https"|"tcp"|"tls" (received "udp")',
    );
  });

  test('fails if replicas is negative or fractional', () => {
    expect(fails({ image: 'x', replicas: -1, versions: [{ name: 'v1', replicas: 1.5 }] }).message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - replicas: Too small: expected number to be >=0 (received -1)\n' +
        '  - versions[0].replicas: expected int (received 1.5)',
    );
  });

  test('fails if a writable path is not absolute', () => {
    expect(fails({ image: 'x', writablePaths: ['tmp'] }).message).toBe(
      'bookinfo/reviews: invalid props\n  - writablePaths[0]: Invalid string: must start with "/" (received "tmp")',
    );
  });

  test('fails if the rate limit fill interval is a number instead of a Duration', () => {
    expect(
      fails({ image: 'x', rateLimit: { maxTokens: 10, fillInterval: 60 as unknown as Duration } }).message,
    ).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - rateLimit.fillInterval: expected a cdk8s Duration, e.g. Duration.seconds(7) (received 60)',
    );
  });

  test('fails if a prop key is unknown (strict objects), at the top and in a version', () => {
    expect(fails({ image: 'x', replica: 2 } as never).message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - (props): unknown field "replica": remove it or fix its spelling (received {"image":"x","replica":2,"name":"reviews"})',
    );
    expect(fails({ image: 'x', versions: [{ name: 'v1', tag: '1.0' }] } as never).message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - versions[0]: unknown field "tag": remove it or fix its spelling (received {"name":"v1","tag":"1.0"})',
    );
  });

  test('fails listing every invalid field at once; cross-field checks (duplicates, image) wait for valid fields', () => {
    const err = fails({ versions: ['v1', 'v1'], port: 0, protocol: 'udp' as never, namespace: 'Shop' });
    expect((err as MeshPropsError).issues.map((i) => [i.field, i.message])).toStrictEqual([
      ['port', 'Too small: expected number to be >=1'],
      ['protocol', 'Invalid option: expected one of "http"|"http2"|"grpc"|"https"|"tcp"|"tls"'],
      ['namespace', 'must be a DNS-1123 label: lower-case letters, digits and "-"'],
    ]);
  });

  test('fails listing every problem of the versions and image at once', () => {
    const err = fails({ versions: ['v1', 'v1'] });
    expect(err.message).toBe(
      'bookinfo/reviews: invalid props\n' +
        '  - versions[1]: version \'v1\' is declared twice (received "v1")\n' +
        "  - image: version 'v1' (versions[0]) has no image: set the App's image (with {version}) or the version's (received nothing)\n" +
        "  - image: version 'v1' (versions[1]) has no image: set the App's image (with {version}) or the version's (received nothing)",
    );
  });

  test('fails if the App is not inside a Mesh', () => {
    const chart = new Chart(Testing.app(), 'plain');
    expect(errorOf(() => new App(chart, 'reviews', { image: 'x' })).message).toBe(
      "plain/reviews: must be created inside a Mesh (new App(mesh, 'name', …))",
    );
    expect(errorOf(() => new App(Testing.app(), 'reviews', { image: 'x' })).message).toBe(
      "reviews: must be created inside a Mesh (new App(mesh, 'name', …))",
    );
  });
});

describe('App local rate limit declared twice', () => {
  test('fails if a second local rate limit is added', () => {
    const mesh = newMesh();
    const app = new App(mesh, 'productpage', {
      image: 'p:{version}',
      rateLimit: { maxTokens: 10, fillInterval: Duration.seconds(1) },
    });
    expect(
      errorOf(() => app.addLocalRateLimit({ maxTokens: 5, fillInterval: Duration.seconds(1) })).message,
    ).toBe(
      'bookinfo/productpage: productpage already has a local rate limit; set it once (rateLimit prop or addLocalRateLimit)',
    );
  });
});

describe('App.release: the next release in one line', () => {
  const template = 'registry.example/reviews:{version}';

  test('adds the version (Deployment, subset), the primary route and a CanaryRelease from the stable version', () => {
    const mesh = newMesh();
    const reviews = new App(mesh, 'reviews', { image: template, versions: ['v1'], replicas: 2 });
    const release = reviews.release('v2', { steps: [{ setWeight: 20 }], scaleDown: { delay: '1m' } });
    const objs = synth(mesh);

    expect(reviews.versions).toStrictEqual(['v1', 'v2']);
    expect(names(ofKind(objs, 'Deployment'))).toStrictEqual([
      'Deployment/reviews-v1',
      'Deployment/reviews-v2',
    ]);
    const v2 = one(objs, 'Deployment', 'reviews-v2').spec as {
      replicas: number;
      template: { spec: { containers: { image: string }[] } };
    };
    expect(v2.replicas).toBe(2);
    expect(v2.template.spec.containers[0]!.image).toBe('registry.example/reviews:v2');
    expect((one(objs, 'DestinationRule', 'reviews').spec as { subsets: unknown[] }).subsets).toStrictEqual([
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ]);
    // the VirtualService travels in the release, which owns it (GitOps re-applies never reset it)
    expect(ofKind(objs, 'VirtualService')).toStrictEqual([]);
    expect(one(objs, 'CanaryRelease', 'reviews').spec).toStrictEqual({
      steps: [{ setWeight: 20 }],
      scaleDown: { delay: '1m' },
      service: 'reviews',
      stable: { subset: 'v1', deployment: 'reviews-v1' },
      canary: { subset: 'v2', deployment: 'reviews-v2', revision: 'registry.example/reviews:v2' },
      virtualService: {
        name: 'reviews',
        route: 'primary',
        template: {
          metadata: { labels: { app: 'reviews' } },
          spec: {
            hosts: ['reviews'],
            http: [
              {
                name: 'primary',
                route: [
                  { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
                  { destination: { host: 'reviews', subset: 'v2' }, weight: 0 },
                ],
              },
            ],
          },
        },
      },
    });
    expect(release.spec.canary.revision).toBe('registry.example/reviews:v2');
  });

  test('the one-line change after a promotion: v2 stable, v3 released; v1 leaves the manifests', () => {
    const mesh = newMesh();
    const reviews = new App(mesh, 'reviews', { image: template, versions: ['v2'] });
    reviews.release('v3', { image: 'registry.example/reviews:3.0.1', stepWeight: 50, maxWeight: 50 });
    const objs = synth(mesh);
    expect(names(ofKind(objs, 'Deployment'))).toStrictEqual([
      'Deployment/reviews-v2',
      'Deployment/reviews-v3',
    ]);
    const cr = one(objs, 'CanaryRelease', 'reviews').spec as Record<string, unknown>;
    expect([cr.stable, cr.canary]).toStrictEqual([
      { subset: 'v2', deployment: 'reviews-v2' },
      { subset: 'v3', deployment: 'reviews-v3', revision: 'registry.example/reviews:3.0.1' },
    ]);
    // nothing names the old stable any more: pruned by the next sync
    expect(JSON.stringify(objs)).not.toMatch(/reviews-v1|"v1"\}|subset":"v1"/);
    expect(JSON.stringify(objs)).toContain('subset":"v2"');
  });

  test('releases a declared version from the stable one the App names', () => {
    const mesh = newMesh();
    const reviews = new App(mesh, 'reviews', { image: template, versions: ['v1', 'v2', 'v3'], stable: 'v2' });
    const r = reviews.release('v3', { revision: 'build-7', stepWeight: 10, maxWeight: 30 });
    expect([r.spec.stable.subset, r.spec.canary.subset, r.spec.canary.revision]).toStrictEqual([
      'v2',
      'v3',
      'build-7',
    ]);
    expect(ofKind(synth(mesh), 'Deployment')).toHaveLength(3);
  });

  test('fails if the released version is the stable one, or the App has a release already', () => {
    const mesh = newMesh();
    const reviews = new App(mesh, 'reviews', { image: template, versions: ['v1'] });
    expect(errorOf(() => reviews.release('v1', { stepWeight: 50, maxWeight: 50 })).message).toBe(
      'bookinfo/reviews: invalid props\n  - release.version: \'v1\' is the stable version of reviews: release another version, or make the released one stable once it is promoted (received "v1")',
    );
    reviews.release('v2', { stepWeight: 50, maxWeight: 50 });
    expect(errorOf(() => reviews.release('v3', { stepWeight: 50, maxWeight: 50 })).message).toBe(
      'bookinfo/reviews: invalid props\n  - release: reviews has a release already; an App releases one version at a time: point the existing release() at the new version (received "v3")',
    );
  });

  test('fails if the new version has no image, or names an image for a version declared with its own', () => {
    const mesh = newMesh();
    const noTemplate = new App(mesh, 'ratings', { versions: [{ name: 'v1', image: 'example/ratings:1' }] });
    expect(errorOf(() => noTemplate.release('v2', { stepWeight: 50, maxWeight: 50 })).message).toBe(
      "bookinfo/ratings: invalid props\n  - release.image: version 'v2' has no image: set the release's image, or the App's image with {version}",
    );
    const reviews = new App(mesh, 'reviews', { image: template, versions: ['v1', 'v2'] });
    expect(
      errorOf(() => reviews.release('v2', { image: 'x:2', stepWeight: 50, maxWeight: 50 })).message,
    ).toBe(
      'bookinfo/reviews: invalid props\n  - release.image: version \'v2\' is declared in versions already, with its image: set the image there, or release a version not yet declared (received "x:2")',
    );
  });

  test('fails if the stable version it names is not one of its versions', () => {
    const mesh = newMesh();
    expect(
      errorOf(() => new App(mesh, 'reviews', { image: template, versions: ['v1'], stable: 'v0' })).message,
    ).toBe(
      'bookinfo/reviews: invalid props\n  - stable: \'v0\' is not a version of reviews; name one of its versions (v1) (received "v0")',
    );
  });
});
