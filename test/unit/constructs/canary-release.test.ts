import { Testing } from 'cdk8s';
import { App, CanaryRelease, Mesh, MeshPropsError } from '../../../constructs/index.js';

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
  test('synthesizes the resource and the route it drives (stable 100, canary 0)', () => {
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
        virtualService: { name: 'reviews', route: 'primary' },
        stepWeight: 20,
        maxWeight: 60,
      },
    });
    const vs = objs.find((o) => o.kind === 'VirtualService' && o.metadata.name === 'reviews')!;
    expect(vs.spec.http).toStrictEqual([
      {
        name: 'primary',
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
          { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
        ],
      },
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
    const vs = synth(mesh).find((o) => o.kind === 'VirtualService')!;
    expect((vs.spec.http as unknown[]).length).toBe(2);
    const cr = synth(mesh).find((o) => o.kind === 'CanaryRelease')!;
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
