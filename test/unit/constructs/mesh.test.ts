import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { App, Mesh, MeshPropsError, ZeroTrustPolicy, type MeshProps } from '../../../constructs/index.js';
import { errorOf, names, newMesh, ofKind, one, synth } from './helpers.js';

const namespaceObject = (name: string, podSecurity = 'restricted', extra: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name,
    labels: {
      'istio-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': podSecurity,
      ...extra,
    },
  },
});

describe('Mesh defaults', () => {
  test('an empty mesh is only its Namespace: injection on, Pod Security restricted, no policy, no telemetry', () => {
    const mesh = newMesh();
    expect(synth(mesh)).toStrictEqual([namespaceObject('default')]);
    expect(synth(mesh)).toMatchSnapshot();
  });

  test('namespace default, trust domain cluster.local, Istio default ingress gateway, no ZeroTrustPolicy', () => {
    const mesh = newMesh();
    expect(mesh.namespace).toBe('default');
    expect(mesh.trustDomain).toBe('cluster.local');
    expect(mesh.ingressGateway).toStrictEqual({
      selector: { istio: 'ingressgateway' },
      namespace: 'istio-system',
      serviceAccountName: 'istio-ingressgateway-service-account',
    });
    expect(mesh.zeroTrust).toBeUndefined();
    expect(mesh.calls).toStrictEqual([]);
    expect(mesh.workloads).toStrictEqual([]);
  });

  test('the Namespace is cluster-scoped: it has no metadata.namespace', () => {
    const [ns] = ofKind(synth(newMesh({ namespace: 'shop' })), 'Namespace');
    expect(ns!.metadata).toStrictEqual(namespaceObject('shop').metadata);
    expect('namespace' in ns!.metadata).toBe(false);
  });
});

describe('Mesh props', () => {
  test('namespace names the Namespace and is the default namespace of everything in the mesh', () => {
    const mesh = newMesh({ namespace: 'shop' });
    const web = new App(mesh, 'web', { image: 'web:{version}' });
    expect(mesh.namespace).toBe('shop');
    expect(web.namespace).toBe('shop');
    const objs = synth(mesh);
    expect(one(objs, 'Namespace', 'shop')).toStrictEqual(namespaceObject('shop'));
    expect(objs.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace)).toStrictEqual([
      'shop',
      'shop',
      'shop',
      'shop',
    ]);
  });

  test('trustDomain is the first part of every principal', () => {
    const mesh = newMesh({ trustDomain: 'example.org' });
    expect(mesh.principalOf('shop', 'cart')).toBe('example.org/ns/shop/sa/cart');
    expect(new App(mesh, 'web', { image: 'x' }).principal).toBe('example.org/ns/default/sa/web');
  });

  test('manageNamespace false emits no Namespace', () => {
    const mesh = newMesh({ manageNamespace: false });
    new App(mesh, 'web', { image: 'x' });
    expect(ofKind(synth(mesh), 'Namespace')).toStrictEqual([]);
    expect(synth(newMesh({ manageNamespace: false }))).toStrictEqual([]);
  });

  test.each(['privileged', 'baseline', 'restricted'] as const)(
    'podSecurity %s is the enforce label of the Namespace',
    (level) => {
      expect(synth(newMesh({ podSecurity: level }))).toStrictEqual([namespaceObject('default', level)]);
    },
  );

  test('chart labels are applied to every object, the Namespace included', () => {
    const mesh = newMesh({ chart: { labels: { team: 'books' } } });
    new App(mesh, 'web', { image: 'x' });
    const objs = synth(mesh);
    expect(one(objs, 'Namespace', 'default')).toStrictEqual(
      namespaceObject('default', 'restricted', { team: 'books' }),
    );
    expect(objs.every((o) => o.metadata.labels?.team === 'books')).toBe(true);
  });

  describe('telemetry', () => {
    const telemetry = (spec: Record<string, unknown>) => ({
      apiVersion: 'telemetry.istio.io/v1',
      kind: 'Telemetry',
      metadata: { name: 'mesh-default', namespace: 'default' },
      spec,
    });

    test('accessLogging turns on the envoy access log provider', () => {
      expect(ofKind(synth(newMesh({ accessLogging: true })), 'Telemetry')).toStrictEqual([
        telemetry({ accessLogging: [{ providers: [{ name: 'envoy' }] }] }),
      ]);
    });

    test('traceSampling sets the random sampling percentage, 0 included', () => {
      expect(ofKind(synth(newMesh({ traceSampling: 2.5 })), 'Telemetry')).toStrictEqual([
        telemetry({ tracing: [{ randomSamplingPercentage: 2.5 }] }),
      ]);
      expect(ofKind(synth(newMesh({ traceSampling: 0 })), 'Telemetry')).toStrictEqual([
        telemetry({ tracing: [{ randomSamplingPercentage: 0 }] }),
      ]);
    });

    test('both in one Telemetry, in the mesh namespace', () => {
      expect(
        ofKind(synth(newMesh({ namespace: 'shop', accessLogging: true, traceSampling: 100 })), 'Telemetry'),
      ).toStrictEqual([
        {
          ...telemetry({
            accessLogging: [{ providers: [{ name: 'envoy' }] }],
            tracing: [{ randomSamplingPercentage: 100 }],
          }),
          metadata: { name: 'mesh-default', namespace: 'shop' },
        },
      ]);
    });

    test('accessLogging false (the default) emits no Telemetry', () => {
      expect(ofKind(synth(newMesh({ accessLogging: false })), 'Telemetry')).toStrictEqual([]);
    });
  });

  describe('mtls and defaultDeny create the mesh ZeroTrustPolicy', () => {
    test.each(['STRICT', 'PERMISSIVE', 'DISABLE'] as const)(
      'mtls %s alone: PeerAuthentication, no allow-nothing',
      (mode) => {
        const mesh = newMesh({ mtls: mode });
        const objs = synth(mesh);
        expect(ofKind(objs, 'PeerAuthentication')).toStrictEqual([
          {
            apiVersion: 'security.istio.io/v1',
            kind: 'PeerAuthentication',
            metadata: { name: 'default', namespace: 'default' },
            spec: { mtls: { mode } },
          },
        ]);
        expect(ofKind(objs, 'AuthorizationPolicy')).toStrictEqual([]);
        expect(mesh.zeroTrust).toBeInstanceOf(ZeroTrustPolicy);
        expect(mesh.zeroTrust?.node.path).toBe('bookinfo/ZeroTrust');
      },
    );

    test('defaultDeny true: allow-nothing, with the ZeroTrustPolicy default STRICT mTLS', () => {
      const objs = synth(newMesh({ defaultDeny: true }));
      expect(ofKind(objs, 'AuthorizationPolicy')).toStrictEqual([
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'AuthorizationPolicy',
          metadata: { name: 'allow-nothing', namespace: 'default' },
          spec: {},
        },
      ]);
      expect(one(objs, 'PeerAuthentication', 'default').spec).toStrictEqual({ mtls: { mode: 'STRICT' } });
    });

    test('mtls and defaultDeny together', () => {
      const objs = synth(newMesh({ mtls: 'PERMISSIVE', defaultDeny: true }));
      expect(names(objs)).toStrictEqual([
        'Namespace/default',
        'PeerAuthentication/default',
        'AuthorizationPolicy/allow-nothing',
      ]);
      expect(one(objs, 'PeerAuthentication', 'default').spec).toStrictEqual({ mtls: { mode: 'PERMISSIVE' } });
    });

    test('defaultDeny false, its default, creates nothing (same as leaving it out)', () => {
      const mesh = newMesh({ defaultDeny: false });
      expect(synth(mesh)).toStrictEqual([namespaceObject('default')]);
      expect(mesh.zeroTrust).toBeUndefined();
    });

    test('fails if a second ZeroTrustPolicy is created in the mesh', () => {
      const mesh = newMesh({ mtls: 'STRICT' });
      expect(errorOf(() => new ZeroTrustPolicy(mesh, 'Mine')).message).toBe(
        'bookinfo/Mine: bookinfo already has a ZeroTrustPolicy (bookinfo/ZeroTrust); a mesh has one',
      );
    });
  });

  describe('ingressGateway', () => {
    test('every field given', () => {
      const gw = { selector: { app: 'gw' }, namespace: 'edge', serviceAccountName: 'edge-gw' };
      expect(newMesh({ ingressGateway: gw }).ingressGateway).toStrictEqual(gw);
    });

    test('fields left out keep Istio defaults', () => {
      expect(newMesh({ ingressGateway: { namespace: 'edge' } }).ingressGateway).toStrictEqual({
        selector: { istio: 'ingressgateway' },
        namespace: 'edge',
        serviceAccountName: 'istio-ingressgateway-service-account',
      });
    });
  });
});

describe('Mesh call graph and workloads', () => {
  test('registers Apps in order and records calls with their options', () => {
    const mesh = newMesh();
    const a = new App(mesh, 'a', { image: 'x' });
    const b = new App(mesh, 'b', { image: 'x' });
    a.calls(b, { methods: ['GET'], paths: ['/api/*'] });
    b.calls(a);
    expect(mesh.workloads.length === 2 && mesh.workloads[0] === a && mesh.workloads[1] === b).toBe(true);
    // Field by field: a failing deep comparison of constructs would print their whole tree.
    const shape = mesh.calls.map((c) => ({ ...c, from: c.from.name, to: c.to.name }));
    expect(shape).toStrictEqual([
      { from: 'a', to: 'b', methods: ['GET'], paths: ['/api/*'] },
      { from: 'b', to: 'a' },
    ]);
  });
});

describe('Mesh.of', () => {
  test('finds the mesh of a construct at any depth', () => {
    const mesh = newMesh();
    const deep = new Construct(new Construct(mesh, 'group'), 'leaf');
    expect(Mesh.of(deep)).toBe(mesh);
    expect(Mesh.of(mesh)).toBe(mesh);
  });

  test('fails if the construct is in a plain Chart, not a Mesh', () => {
    const chart = new Chart(Testing.app(), 'plain');
    expect(errorOf(() => Mesh.of(new Construct(chart, 'x'))).message).toBe(
      "plain/x: must be created inside a Mesh (new App(mesh, 'name', …))",
    );
    expect(chart instanceof Mesh).toBe(false);
    expect(newMesh() instanceof Mesh).toBe(true);
    expect(newMesh() instanceof Chart).toBe(true);
  });
});

describe('Mesh validation', () => {
  const fails = (props: MeshProps) => errorOf(() => newMesh(props));

  test('fails if the namespace is not a DNS label', () => {
    const err = fails({ namespace: 'Book_Info' });
    expect(err).toBeInstanceOf(MeshPropsError);
    expect(err.message).toBe(
      'bookinfo: invalid props\n' +
        '  - namespace: must be a DNS-1123 label: lower-case letters, digits and "-" (received "Book_Info")',
    );
  });

  test('fails if traceSampling is not a percentage', () => {
    expect(fails({ traceSampling: 101 }).message).toBe(
      'bookinfo: invalid props\n  - traceSampling: a percentage must be between 0 and 100 (received 101)',
    );
  });

  test('fails if mtls is not an Istio mode', () => {
    expect(fails({ mtls: 'ON' as never }).message).toBe(
      'bookinfo: invalid props\n' +
        '  - mtls: Invalid option: expected one of "STRICT"|"PERMISSIVE"|"DISABLE" (received "ON")',
    );
  });

  test('fails if podSecurity is not a Pod Security Standard', () => {
    expect(fails({ podSecurity: 'strict' as never }).message).toBe(
      'bookinfo: invalid props\n' +
        '  - podSecurity: Invalid option: expected one of "privileged"|"baseline"|"restricted" (received "strict")',
    );
  });

  test('fails if the trust domain is empty', () => {
    expect(fails({ trustDomain: '' }).message).toBe(
      'bookinfo: invalid props\n' +
        '  - trustDomain: Too small: expected string to have >=1 characters (received "")',
    );
  });

  test('fails if a prop key is unknown (strict objects), at the top and in ingressGateway', () => {
    expect(fails({ namespce: 'shop' } as never).message).toBe(
      'bookinfo: invalid props\n  - (props): unknown field "namespce": remove it or fix its spelling (received {"namespce":"shop"})',
    );
    expect(fails({ ingressGateway: { name: 'gw' } } as never).message).toBe(
      'bookinfo: invalid props\n  - ingressGateway: unknown field "name": remove it or fix its spelling (received {"name":"gw"})',
    );
  });

  test('fails listing every invalid prop at once', () => {
    const err = fails({
      namespace: 'Shop',
      accessLogging: 'yes' as never,
      traceSampling: -1,
      ingressGateway: { namespace: 'Edge' },
    });
    expect((err as MeshPropsError).issues.map((i) => i.field)).toStrictEqual([
      'namespace',
      'ingressGateway.namespace',
      'accessLogging',
      'traceSampling',
    ]);
    expect(err.message).toBe(
      'bookinfo: invalid props\n' +
        '  - namespace: must be a DNS-1123 label: lower-case letters, digits and "-" (received "Shop")\n' +
        '  - ingressGateway.namespace: must be a DNS-1123 label: lower-case letters, digits and "-" (received "Edge")\n' +
        '  - accessLogging: expected boolean (received "yes")\n' +
        '  - traceSampling: a percentage must be between 0 and 100 (received -1)',
    );
  });
});

describe('Mesh sidecar injection', () => {
  const labels = (props: MeshProps) =>
    (ofKind(synth(newMesh(props)), 'Namespace')[0] as { metadata: { labels: Record<string, string> } })
      .metadata.labels;

  test('injection is on by default: istio-injection enabled', () => {
    expect(labels({})).toStrictEqual({
      'istio-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('a revision injects through istio.io/rev instead of istio-injection', () => {
    const mesh = newMesh({ revision: 'canary-1-30' });
    expect(mesh.revision).toBe('canary-1-30');
    expect(labels({ revision: 'canary-1-30' })).toStrictEqual({
      'istio.io/rev': 'canary-1-30',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('sidecarInjection false labels the namespace istio-injection disabled, revision or not', () => {
    expect(labels({ sidecarInjection: false })['istio-injection']).toBe('disabled');
    expect(labels({ sidecarInjection: false, revision: 'canary' })).toStrictEqual({
      'istio-injection': 'disabled',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('the install-relevant settings are readable for IstioInstall', () => {
    const mesh = newMesh({ accessLogging: true, traceSampling: 10 });
    expect([mesh.accessLogging, mesh.traceSampling, mesh.sidecarInjection]).toStrictEqual([true, 10, true]);
  });

  test('fails if the revision is not a DNS label', () => {
    expect(() => newMesh({ revision: 'Canary_1' })).toThrow(/- revision: must be a DNS-1123 label/);
  });
});
