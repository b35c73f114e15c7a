/**
 * The Istio traffic router against the real kube-apiserver (Istio CRDs installed): it patches only
 * the managed route and the routes it adds, every other route and field of the user's
 * VirtualService stays byte-for-byte as written, and a VirtualService changed since it was read is
 * never overwritten (the write is refused as a Conflict and succeeds after observing again).
 * A release with a template owns its VirtualService: created from the template, rewritten only
 * when the template changes, and never losing the release's weights and routes when it does.
 */
import { TEMPLATE_ANNOTATION } from '../../api/v1alpha1/canary-release.js';
import { IstioRouter, type RouteSnapshot } from '../../operator/adapters/istio-router.js';
import { templateDigest } from '../../operator/adapters/owned-route.js';
import type { RouteAction, RouteTarget } from '../../operator/core/routes.js';
import { KubeClient, VIRTUAL_SERVICES, type KubeObject } from '../../operator/adapters/kubernetes.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { must } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;
let router: IstioRouter;

const userRoutes = {
  before: {
    name: 'admin',
    match: [{ uri: { prefix: '/admin' } }],
    route: [{ destination: { host: 'reviews', subset: 'v1' } }],
    timeout: '3s',
  },
  managed: {
    name: 'primary',
    match: [{ uri: { prefix: '/' }, headers: { 'x-region': { exact: 'eu' } } }, { uri: { prefix: '/api' } }],
    route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }],
    timeout: '5s',
    retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx' },
    headers: { request: { set: { 'x-from': 'mesh' } } },
  },
  after: {
    name: 'fallback',
    route: [
      { destination: { host: 'reviews', subset: 'v1' }, weight: 70 },
      { destination: { host: 'reviews', subset: 'v2' }, weight: 30 },
    ],
  },
};

function virtualService(name: string) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: ns.name, labels: { team: 'books' }, annotations: { owner: 'someone-else' } },
    spec: {
      hosts: ['reviews'],
      gateways: ['mesh'],
      http: [userRoutes.before, userRoutes.managed, userRoutes.after],
      tcp: [
        { match: [{ port: 31400 }], route: [{ destination: { host: 'reviews', port: { number: 31400 } } }] },
      ],
      exportTo: ['.'],
    },
  };
}

const target = (vs: string): RouteTarget => ({
  namespace: ns.name,
  release: 'reviews-rel',
  virtualService: vs,
  route: 'primary',
  service: 'reviews',
  stableSubset: 'v1',
  canarySubset: 'v3',
});

type Http = { name: string; [k: string]: unknown };
const httpOf = (o: KubeObject) => (o.spec as { http: Http[] }).http;

async function read(name: string): Promise<KubeObject> {
  return must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name }));
}

/** Everything but the routes we own, as the JSON text the server returns. */
function notOurs(o: KubeObject): string {
  const spec = o.spec as { http: Http[] };
  return JSON.stringify({
    labels: (o.metadata as { labels?: unknown }).labels,
    annotations: o.metadata.annotations,
    spec: {
      ...spec,
      http: spec.http.filter((r) => r.name !== 'primary' && !r.name.startsWith('reviews-rel-')),
    },
  });
}

async function apply(t: RouteTarget, actions: RouteAction[], snap?: RouteSnapshot) {
  const s = snap ?? must(await router.getRoutes(t));
  return router.apply(t, s, actions);
}

beforeAll(async () => {
  const kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  router = new IstioRouter(client);
  ns = await testNamespace('op-router');
});
afterAll(async () => ns?.dispose());

describe('IstioRouter on the real apiserver', () => {
  test('a release plan (weights, header route, mirror, fault) touches only the managed route and its own routes', async () => {
    must(await client.create(VIRTUAL_SERVICES, ns.name, virtualService('plan')));
    const t = target('plan');
    const original = await read('plan');
    const untouched = notOurs(original);

    const first = must(await router.getRoutes(t));
    expect(first.observation).toStrictEqual({
      found: true,
      stableWeight: 100,
      canaryWeight: 0,
      headerRoutes: [],
      mirrorPercentage: 0,
      fault: false,
      // the user's own routes that still send traffic to a version of this release
      otherRoutes: { v1: ['admin', 'fallback'] },
    });

    // setWeight 20
    must(await apply(t, [{ type: 'SetRoutes', stableWeight: 80, canaryWeight: 20 }]));
    let vs = await read('plan');
    expect(notOurs(vs)).toBe(untouched);
    expect(httpOf(vs)[1]).toStrictEqual({
      ...userRoutes.managed,
      route: [
        { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 80 },
        { destination: { host: 'reviews', subset: 'v3' }, weight: 20 },
      ],
    });

    // headerRoute jason: inserted before the managed route, its matches ANDed in, its settings copied
    const headers = { 'end-user': { exact: 'jason' } };
    must(await apply(t, [{ type: 'AddHeaderRoute', name: 'jason', headers }]));
    vs = await read('plan');
    expect(notOurs(vs)).toBe(untouched);
    expect(httpOf(vs).map((r) => r.name)).toStrictEqual([
      'admin',
      'reviews-rel-jason',
      'primary',
      'fallback',
    ]);
    expect(httpOf(vs)[1]).toStrictEqual({
      name: 'reviews-rel-jason',
      match: [
        { uri: { prefix: '/' }, headers: { 'x-region': { exact: 'eu' }, 'end-user': { exact: 'jason' } } },
        { uri: { prefix: '/api' }, headers: { 'end-user': { exact: 'jason' } } },
      ],
      route: [{ destination: { host: 'reviews', subset: 'v3', port: { number: 9080 } } }],
      timeout: '5s',
      retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx' },
      headers: { request: { set: { 'x-from': 'mesh' } } },
    });

    // mirror 50% and a fault: the fault goes on the header route (canary-only traffic)
    must(
      await apply(t, [
        { type: 'SetMirror', percentage: 50 },
        { type: 'SetFault', fault: { delay: { fixedDelay: '7s', percentage: 100 } } },
      ]),
    );
    vs = await read('plan');
    expect(notOurs(vs)).toBe(untouched);
    expect(httpOf(vs)[1]!.fault).toStrictEqual({ delay: { fixedDelay: '7s', percentage: { value: 100 } } });
    expect(httpOf(vs)[2]!.fault).toBeUndefined();
    expect(httpOf(vs)[2]!.mirror).toStrictEqual({ host: 'reviews', subset: 'v3' });
    expect(httpOf(vs)[2]!.mirrorPercentage).toStrictEqual({ value: 50 });
    expect(must(await router.getRoutes(t)).observation).toStrictEqual({
      found: true,
      stableWeight: 80,
      canaryWeight: 20,
      headerRoutes: ['jason'],
      mirrorPercentage: 50,
      fault: true,
      otherRoutes: { v1: ['admin', 'fallback'] },
    });

    // the end of the release: fault, mirror and header route gone, all traffic to the canary
    must(
      await apply(t, [
        { type: 'SetRoutes', stableWeight: 0, canaryWeight: 100 },
        { type: 'RemoveHeaderRoute', name: 'jason' },
        { type: 'SetMirror', percentage: 0 },
        { type: 'RemoveFault' },
      ]),
    );
    vs = await read('plan');
    expect(notOurs(vs)).toBe(untouched);
    expect(httpOf(vs).map((r) => r.name)).toStrictEqual(['admin', 'primary', 'fallback']);
    // apart from the weights, the managed route is exactly as the user wrote it
    const managed = httpOf(vs)[1]!;
    expect({ ...managed, route: undefined }).toStrictEqual({ ...userRoutes.managed, route: undefined });
    expect(managed.route).toStrictEqual([
      { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 0 },
      { destination: { host: 'reviews', subset: 'v3' }, weight: 100 },
    ]);
  });

  test('without a header route the fault is on the managed route, and removing it leaves the route as written', async () => {
    must(await client.create(VIRTUAL_SERVICES, ns.name, virtualService('fault')));
    const t = target('fault');
    const untouched = notOurs(await read('fault'));
    must(await apply(t, [{ type: 'SetFault', fault: { abort: { httpStatus: 503, percentage: 10 } } }]));
    let vs = await read('fault');
    expect(httpOf(vs)[1]!.fault).toStrictEqual({ abort: { httpStatus: 503, percentage: { value: 10 } } });
    expect(must(await router.getRoutes(t)).observation).toMatchObject({ fault: true, headerRoutes: [] });
    must(await apply(t, [{ type: 'RemoveFault' }]));
    vs = await read('fault');
    expect(notOurs(vs)).toBe(untouched);
    expect(httpOf(vs)[1]).toStrictEqual(userRoutes.managed);
  });

  test('fails with Conflict on a VirtualService changed since it was read, and keeps the other writer’s change', async () => {
    must(await client.create(VIRTUAL_SERVICES, ns.name, virtualService('race')));
    const t = target('race');
    const stale = must(await router.getRoutes(t));

    // someone else inserts a route in front of the managed one (shifting its index) and edits another
    const current = await read('race');
    const theirs = [
      { name: 'hotfix', route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      ...httpOf(current),
    ];
    theirs[3] = { ...theirs[3]!, timeout: '9s' };
    must(
      await client.replace(
        VIRTUAL_SERVICES,
        { namespace: ns.name, name: 'race' },
        {
          ...current,
          spec: { ...(current.spec as object), http: theirs },
        },
      ),
    );
    const afterThem = await read('race');

    const refused = await apply(t, [{ type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 }], stale);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.kind).toBe('Conflict');
    expect(JSON.stringify(await read('race'))).toBe(JSON.stringify(afterThem)); // nothing written

    // observe again, decide again: the write lands on the managed route at its new index
    must(await apply(t, [{ type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 }]));
    const vs = await read('race');
    expect(httpOf(vs).map((r) => r.name)).toStrictEqual(['hotfix', 'admin', 'primary', 'fallback']);
    expect(httpOf(vs)[3]!.timeout).toBe('9s');
    expect(httpOf(vs)[2]!.route).toStrictEqual([
      { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 90 },
      { destination: { host: 'reviews', subset: 'v3' }, weight: 10 },
    ]);
  });

  test('concurrent writers: five routers race on one VirtualService; every write either lands whole or is refused', async () => {
    must(await client.create(VIRTUAL_SERVICES, ns.name, virtualService('five')));
    const t = target('five');
    const snap = must(await router.getRoutes(t));
    const results = await Promise.all(
      [10, 20, 30, 40, 50].map((w) =>
        apply(t, [{ type: 'SetRoutes', stableWeight: 100 - w, canaryWeight: w }], snap),
      ),
    );
    const won = results.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.error.kind === 'Conflict')).toHaveLength(4);
    const o = must(await router.getRoutes(t)).observation;
    expect(o.found && o.stableWeight + o.canaryWeight).toBe(100);
  });

  test('observes a missing VirtualService and a missing route name without writing anything', async () => {
    expect(must(await router.getRoutes(target('nope'))).observation).toStrictEqual({
      found: false,
      reason: 'VirtualServiceNotFound',
    });
    must(await client.create(VIRTUAL_SERVICES, ns.name, virtualService('other')));
    const rv = (await read('other')).metadata.resourceVersion;
    const t = { ...target('other'), route: 'prmary' };
    const snap = must(await router.getRoutes(t));
    expect(snap.observation).toStrictEqual({
      found: false,
      reason: 'RouteNotFound',
      available: ['admin', 'primary', 'fallback'],
    });
    const res = await router.apply(t, snap, [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }]);
    expect(!res.ok && res.error.kind).toBe('RouteNotFound');
    expect((await read('other')).metadata.resourceVersion).toBe(rv);
  });

  test('a release with a template owns its VirtualService: creates it, writes it again only when the template changes, and keeps its own weights and routes then', async () => {
    const spec = virtualService('owned').spec;
    const template = { metadata: { labels: { app: 'reviews' } }, spec };
    const t: RouteTarget = { ...target('owned'), template };
    const mark = `reviews-rel/${templateDigest(template)}`;

    // 1. created from the template, marked with its digest
    const first = must(await router.getRoutes(t));
    expect(first.observation).toMatchObject({ found: true, stableWeight: 100, canaryWeight: 0 });
    let vs = await read('owned');
    expect(vs.spec).toStrictEqual(spec);
    expect(vs.metadata).toMatchObject({
      labels: { app: 'reviews' },
      annotations: { [TEMPLATE_ANNOTATION]: mark },
    });

    // 2. the release's steps
    must(
      await apply(t, [
        { type: 'SetRoutes', stableWeight: 70, canaryWeight: 30 },
        { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: '1' } } },
      ]),
    );
    const rv = (await read('owned')).metadata.resourceVersion;

    // 3. the same template again (a GitOps re-apply of the CanaryRelease): no write at all
    for (let i = 0; i < 3; i++) must(await router.getRoutes(t));
    expect((await read('owned')).metadata.resourceVersion).toBe(rv);

    // 4. a changed template (the user's new timeout and a route less): written once, the release's state kept
    const changed = {
      ...template,
      spec: { ...spec, http: [{ ...userRoutes.managed, timeout: '9s' }, userRoutes.after] },
    };
    const t2 = { ...t, template: changed };
    const after = must(await router.getRoutes(t2));
    expect(after.observation).toMatchObject({
      found: true,
      stableWeight: 70,
      canaryWeight: 30,
      headerRoutes: ['beta'],
    });
    vs = await read('owned');
    expect(httpOf(vs).map((r) => r.name)).toStrictEqual(['reviews-rel-beta', 'primary', 'fallback']);
    expect(httpOf(vs)[1]).toMatchObject({ timeout: '9s' });
    expect(vs.metadata.annotations?.[TEMPLATE_ANNOTATION]).toBe(`reviews-rel/${templateDigest(changed)}`);
    const rv2 = vs.metadata.resourceVersion;
    must(await router.getRoutes(t2));
    expect((await read('owned')).metadata.resourceVersion).toBe(rv2);
  });
});
