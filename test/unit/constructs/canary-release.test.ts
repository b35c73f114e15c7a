import { Testing } from 'cdk8s';
import { App, CanaryRelease, Mesh, MeshPropsError } from '../../../constructs/index.js';
import { buildModel } from '../../../mesh/model/load.js';
import { validate } from '../../../mesh/validator/validate.js';

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

function setup(routes?: (reviews: App) => void) {
  const mesh = new Mesh(Testing.app(), 'shop', { namespace: 'shop' });
  const reviews = new App(mesh, 'reviews', {
    image: 'example/reviews:{version}',
    versions: ['v1', 'v2', 'v3'],
  });
  routes?.(reviews);
  return { mesh, reviews };
}

const synth = (mesh: Mesh) => Testing.synth(mesh) as Obj[];

describe('CanaryRelease', () => {
  test('synthesizes the resource and, as its template, the VirtualService with the route it drives (stable 100, canary 0)', () => {
    const { mesh, reviews } = setup();
    new CanaryRelease(mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      revision: 'abc123',
      stepWeight: 20,
      maxWeight: 60,
    });
    const objs = synth(mesh);
    const cr = objs.find((o) => o.kind === 'CanaryRelease')!;
    expect(cr).toStrictEqual({
      apiVersion: 'delivery.cdk8s-mesh.io/v1alpha1',
      kind: 'CanaryRelease',
      metadata: { name: 'reviews', namespace: 'shop', labels: { app: 'reviews' } },
      spec: {
        service: 'reviews',
        stable: { subset: 'v1', deployment: 'reviews-v1' },
        canary: { subset: 'v3', deployment: 'reviews-v3', revision: 'abc123' },
        virtualService: {
          name: 'reviews',
          route: 'primary',
          // the operator owns the VirtualService: GitOps carries it here, not as an object
          template: {
            metadata: { labels: { app: 'reviews' } },
            spec: {
              hosts: ['reviews'],
              http: [
                {
                  name: 'primary',
                  route: [
                    { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
                    { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
                  ],
                },
              ],
            },
          },
        },
        stepWeight: 20,
        maxWeight: 60,
      },
    });
    expect(objs.filter((o) => o.kind === 'VirtualService')).toStrictEqual([]);
  });

  test('routes the App adds after the release are in its template; lint of the manifests reads the template as the VirtualService', () => {
    const { mesh, reviews } = setup();
    new CanaryRelease(mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      stepWeight: 50,
      maxWeight: 50,
    });
    reviews.addRoute({ to: [{ subset: 'v2' }] });
    const cr = synth(mesh).find((o) => o.kind === 'CanaryRelease')!;
    const template = (cr.spec.virtualService as { template: { spec: { http: { name?: string }[] } } })
      .template;
    expect(template.spec.http.map((r) => r.name)).toStrictEqual(['primary', undefined]);
    // the second route can never match: the validator sees it through the template
    const objs = synth(mesh);
    const model = buildModel(
      objs.map((o) => ({ object: o as never, origin: { file: 'dist/shop.k8s.yaml' } })),
    );
    expect(model.virtualServices.map((v) => `${v.namespace}/${v.name}`)).toStrictEqual(['shop/reviews']);
    expect(validate(model).map((f) => `${f.code} ${f.where}`)).toStrictEqual([
      'MESH105 dist/shop.k8s.yaml:VirtualService/reviews',
    ]);
  });

  test('with ownVirtualService: false the VirtualService is synthesized as it is and the release has no template', () => {
    const { mesh, reviews } = setup();
    new CanaryRelease(mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      stepWeight: 50,
      maxWeight: 50,
      ownVirtualService: false,
    });
    const objs = synth(mesh);
    expect(objs.find((o) => o.kind === 'CanaryRelease')!.spec.virtualService).toStrictEqual({
      name: 'reviews',
      route: 'primary',
    });
    expect(objs.filter((o) => o.kind === 'VirtualService').map((o) => o.metadata.name)).toStrictEqual([
      'reviews',
    ]);
  });

  test('drives an existing named route without adding one', () => {
    const { mesh, reviews } = setup((r) => {
      r.addRoute({ match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] });
      r.addRoute({
        name: 'main',
        to: [
          { subset: 'v1', weight: 90 },
          { subset: 'v3', weight: 10 },
        ],
      });
    });
    const release = new CanaryRelease(mesh, 'release', {
      app: reviews,
      stable: 'v1',
      canary: 'v3',
      routeName: 'main',
      checkReadiness: false,
      steps: [{ setWeight: 50 }, { pause: {} }],
    });
    expect(release.spec.virtualService).toEqual({ name: 'reviews', route: 'main' });
    expect(release.spec.analysis.interval).toBe('1m'); // the schema's default, applied
    const cr = synth(mesh).find((o) => o.kind === 'CanaryRelease')!;
    expect(
      (
        cr.spec.virtualService as { template: { spec: { http: { name?: string }[] } } }
      ).template.spec.http.map((r) => r.name),
    ).toStrictEqual([undefined, 'main']);
    expect(cr.spec.stable).toEqual({ subset: 'v1' });
  });

  test('fails if a subset is not a version of the App, listing every problem', () => {
    const { mesh, reviews } = setup();
    expect(
      () =>
        new CanaryRelease(mesh, 'release', {
          app: reviews,
          stable: 'v0',
          canary: 'v9',
          stepWeight: 10,
          maxWeight: 50,
        }),
    ).toThrow(
      "shop/release: invalid props\n  - stable: 'v0' is not a version of reviews; declare it in the App's versions (v1, v2, v3)",
    );
    try {
      new CanaryRelease(mesh, 'release2', {
        app: reviews,
        stable: 'v0',
        canary: 'v9',
        stepWeight: 10,
        maxWeight: 50,
      });
    } catch (e) {
      expect((e as MeshPropsError).issues.map((i) => i.field)).toEqual(['stable', 'canary']);
    }
  });

  test('fails if the plan is invalid, naming the spec field', () => {
    const { mesh, reviews } = setup();
    expect(
      () =>
        new CanaryRelease(mesh, 'release', {
          app: reviews,
          stable: 'v1',
          canary: 'v3',
          steps: [{ setWeight: 120 }],
        }),
    ).toThrow(/- steps\[0\]\.setWeight: must be an integer percentage from 0 to 100 \(received 120\)/);
  });

  test('fails if the named route does not exist', () => {
    const { mesh, reviews } = setup((r) => r.addRoute({ to: [{ subset: 'v1' }] }));
    expect(
      () =>
        new CanaryRelease(mesh, 'release', {
          app: reviews,
          stable: 'v1',
          canary: 'v3',
          stepWeight: 10,
          maxWeight: 50,
        }),
    ).toThrow(
      "- routeName: reviews has no route named 'primary' (routes: (unnamed)); name the route the release drives",
    );
  });

  test('fails if the named route does not send to the canary', () => {
    const { mesh, reviews } = setup((r) => r.addRoute({ name: 'primary', to: [{ subset: 'v1' }] }));
    expect(
      () =>
        new CanaryRelease(mesh, 'release', {
          app: reviews,
          stable: 'v1',
          canary: 'v3',
          stepWeight: 10,
          maxWeight: 50,
        }),
    ).toThrow(
      "route 'primary' of reviews must send to both v1 and v3 (weights 100 and 0 to start); it lacks v3",
    );
  });
});
