/**
 * The Gateway API traffic router against the real kube-apiserver with the Gateway API CRDs
 * (v1.5.1, standard channel) installed: the apiserver accepts every patch it writes, it patches
 * only the managed rule and the rules it adds (every other rule and field of the user's HTTPRoute
 * stays byte-for-byte as written), a GRPCRoute is driven the same way, and a route changed since
 * it was read is never overwritten (the write is refused as a Conflict). A release with a
 * template owns its route: created from it, written again only when the template changes, and
 * then with the release's weights, header rules and mirror kept.
 */
import { TEMPLATE_ANNOTATION } from '../../api/v1alpha1/canary-release.js';
import { templateDigest } from '../../operator/adapters/owned-route.js';
import { GatewayApiRouter, type GatewayRouteSnapshot } from '../../operator/adapters/gateway-api-router.js';
import { GRPC_ROUTES, HTTP_ROUTES, KubeClient, type KubeObject } from '../../operator/adapters/kubernetes.js';
import type { GatewayRouteTarget } from '../../operator/core/gateway-routes.js';
import type { RouteAction } from '../../operator/core/routes.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { must } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;
let router: GatewayApiRouter;

const parentRefs = [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }];
const userRules = {
  before: {
    name: 'admin',
    matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
    backendRefs: [{ group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 1 }],
    timeouts: { request: '3s' },
  },
  managed: {
    name: 'primary',
    matches: [
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [{ type: 'Exact', name: 'x-region', value: 'eu' }],
      },
    ],
    filters: [
      { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-from', value: 'mesh' }] } },
    ],
    backendRefs: [{ group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 100 }],
    timeouts: { request: '5s' },
  },
  after: {
    name: 'fallback',
    matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
    backendRefs: [
      { group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 70 },
      { group: '', kind: 'Service', name: 'reviews-v3', port: 9080, weight: 30 },
    ],
  },
};

function httpRoute(name: string) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns.name, labels: { team: 'books' }, annotations: { owner: 'someone-else' } },
    spec: { parentRefs, rules: [userRules.before, userRules.managed, userRules.after] },
  };
}

const target = (name: string, kind: GatewayRouteTarget['kind'] = 'HTTPRoute'): GatewayRouteTarget => ({
  kind,
  namespace: ns.name,
  release: 'reviews-rel',
  name,
  rule: 'primary',
  stableSubset: 'v1',
  canarySubset: 'v3',
  stableBackend: 'reviews-v1',
  canaryBackend: 'reviews-v3',
});

type Rule = { name: string; [k: string]: unknown };
const rulesOf = (o: KubeObject) => (o.spec as { rules: Rule[] }).rules;

async function read(name: string, type = HTTP_ROUTES): Promise<KubeObject> {
  return must(await client.get(type, { namespace: ns.name, name }));
}

/** Everything but the rules we own, as the JSON text the server returns. */
function notOurs(o: KubeObject): string {
  const spec = o.spec as { rules: Rule[] };
  return JSON.stringify({
    labels: (o.metadata as { labels?: unknown }).labels,
    annotations: o.metadata.annotations,
    spec: {
      ...spec,
      rules: spec.rules.filter((r) => r.name !== 'primary' && !r.name.startsWith('reviews-rel-')),
    },
  });
}

async function apply(t: GatewayRouteTarget, actions: RouteAction[], snap?: GatewayRouteSnapshot) {
  const s = snap ?? must(await router.getRoutes(t));
  return router.apply(t, s, actions);
}

beforeAll(async () => {
  client = new KubeClient(cluster.kubeConfig());
  router = new GatewayApiRouter(client);
  ns = await testNamespace('op-gwrouter');
});
afterAll(async () => ns?.dispose());

describe('GatewayApiRouter on the real apiserver', () => {
  test('a release plan (weights, header rule, mirror) touches only the managed rule and its own rules', async () => {
    must(await client.create(HTTP_ROUTES, ns.name, httpRoute('plan')));
    const t = target('plan');
    const untouched = notOurs(await read('plan'));

    expect(must(await router.getRoutes(t)).observation).toStrictEqual({
      found: true,
      stableWeight: 100,
      canaryWeight: 0,
      headerRoutes: [],
      mirrorPercentage: 0,
      fault: false,
      otherRoutes: { v1: ['admin', 'fallback'], v3: ['fallback'] },
    });

    // setWeight 20: the canary backendRef is added, with the stable one's group, kind and port
    must(await apply(t, [{ type: 'SetRoutes', stableWeight: 80, canaryWeight: 20 }]));
    let r = await read('plan');
    expect(notOurs(r)).toBe(untouched);
    expect(rulesOf(r)[1]).toStrictEqual({
      ...userRules.managed,
      backendRefs: [
        { group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 80 },
        { group: '', kind: 'Service', name: 'reviews-v3', port: 9080, weight: 20 },
      ],
    });

    // headerRoute and mirror in one write
    const snap = must(
      await apply(t, [
        { type: 'AddHeaderRoute', name: 'jason', headers: { 'end-user': { exact: 'jason' } } },
        { type: 'SetMirror', percentage: 25 },
      ]),
    );
    expect(snap.observation).toMatchObject({
      stableWeight: 80,
      canaryWeight: 20,
      headerRoutes: ['jason'],
      mirrorPercentage: 25,
    });
    r = await read('plan');
    expect(notOurs(r)).toBe(untouched);
    expect(rulesOf(r).map((x) => x.name)).toStrictEqual([
      'admin',
      'reviews-rel-jason',
      'primary',
      'fallback',
    ]);
    expect(rulesOf(r)[1]).toStrictEqual({
      name: 'reviews-rel-jason',
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [
            { type: 'Exact', name: 'x-region', value: 'eu' },
            { type: 'Exact', name: 'end-user', value: 'jason' },
          ],
        },
      ],
      filters: userRules.managed.filters,
      // the CRD's default weight (1): a lone backendRef takes all
      backendRefs: [{ group: '', kind: 'Service', name: 'reviews-v3', port: 9080, weight: 1 }],
      timeouts: { request: '5s' },
    });
    expect((rulesOf(r)[2]!.filters as unknown[])[1]).toStrictEqual({
      type: 'RequestMirror',
      requestMirror: {
        backendRef: { group: '', kind: 'Service', name: 'reviews-v3', port: 9080 },
        percent: 25,
      },
    });

    // promotion: all to the canary, mirror and header rule gone; the user's rules as written
    must(
      await apply(t, [
        { type: 'SetMirror', percentage: 0 },
        { type: 'RemoveHeaderRoute', name: 'jason' },
        { type: 'SetRoutes', stableWeight: 0, canaryWeight: 100 },
      ]),
    );
    r = await read('plan');
    expect(notOurs(r)).toBe(untouched);
    expect(rulesOf(r)[1]).toStrictEqual({
      ...userRules.managed,
      backendRefs: [
        { group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 0 },
        { group: '', kind: 'Service', name: 'reviews-v3', port: 9080, weight: 100 },
      ],
    });
  });

  test('a GRPCRoute rule is driven the same way', async () => {
    must(
      await client.create(GRPC_ROUTES, ns.name, {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata: { name: 'grpc', namespace: ns.name },
        spec: {
          parentRefs,
          rules: [
            {
              name: 'primary',
              matches: [{ method: { type: 'Exact', service: 'shop.Reviews', method: 'Get' } }],
              backendRefs: [
                { name: 'reviews-v1', port: 9080, weight: 100 },
                { name: 'reviews-v3', port: 9080, weight: 0 },
              ],
            },
          ],
        },
      }),
    );
    const t = target('grpc', 'GRPCRoute');
    const snap = must(
      await apply(t, [
        { type: 'SetRoutes', stableWeight: 60, canaryWeight: 40 },
        { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { prefix: 'yes' } } },
      ]),
    );
    expect(snap.observation).toStrictEqual({
      found: true,
      stableWeight: 60,
      canaryWeight: 40,
      headerRoutes: ['beta'],
      mirrorPercentage: 0,
      fault: false,
    });
    const rules = rulesOf(await read('grpc', GRPC_ROUTES));
    expect(rules[0]).toStrictEqual({
      name: 'reviews-rel-beta',
      matches: [
        {
          method: { type: 'Exact', service: 'shop.Reviews', method: 'Get' },
          headers: [{ type: 'RegularExpression', name: 'x-beta', value: 'yes.*' }],
        },
      ],
      // with the CRD's defaults for group, kind and weight
      backendRefs: [{ group: '', kind: 'Service', name: 'reviews-v3', port: 9080, weight: 1 }],
    });
  });

  test('a missing route or rule is an observation; a route changed since it was read is a Conflict, then succeeds', async () => {
    expect(must(await router.getRoutes(target('absent'))).observation).toStrictEqual({
      found: false,
      reason: 'HTTPRouteNotFound',
    });
    must(await client.create(HTTP_ROUTES, ns.name, httpRoute('race')));
    const t = target('race');
    expect(must(await router.getRoutes({ ...t, rule: 'nope' })).observation).toStrictEqual({
      found: false,
      reason: 'RouteNotFound',
      available: ['admin', 'primary', 'fallback'],
    });
    const stale = must(await router.getRoutes(t));
    // someone else edits the route after it was read
    must(
      await client.mergePatch(
        HTTP_ROUTES,
        { namespace: ns.name, name: 'race' },
        { metadata: { labels: { edited: 'yes' } } },
      ),
    );
    const refused = await apply(t, [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }], stale);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.kind).toBe('Conflict');
    expect(rulesOf(await read('race'))[1]).toStrictEqual(userRules.managed);
    const fresh = must(await apply(t, [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }]));
    expect(fresh.observation).toMatchObject({ stableWeight: 50, canaryWeight: 50 });
  });

  test('a release with a template owns its HTTPRoute: creates it, writes it again only when the template changes, and keeps its own weights, header rules and mirror then', async () => {
    // as the constructs synthesize it: backendRefs without the CRD's defaults
    const spec = {
      parentRefs,
      rules: [
        {
          name: 'primary',
          timeouts: { request: '5s' },
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 100 },
            { name: 'reviews-v3', port: 9080, weight: 0 },
          ],
        },
        userRules.after,
      ],
    };
    const template = { metadata: { labels: { app: 'reviews' } }, spec };
    const t: GatewayRouteTarget = { ...target('owned'), template };

    // 1. created from the template, marked with its digest
    const first = must(await router.getRoutes(t));
    expect(first.observation).toMatchObject({ found: true, stableWeight: 100, canaryWeight: 0 });
    let route = await read('owned');
    expect(rulesOf(route).map((r) => r.name)).toStrictEqual(['primary', 'fallback']);
    expect(route.metadata).toMatchObject({
      labels: { app: 'reviews' },
      annotations: { [TEMPLATE_ANNOTATION]: `reviews-rel/${templateDigest(template)}` },
    });

    // 2. the release's steps
    must(
      await apply(t, [
        { type: 'SetRoutes', stableWeight: 70, canaryWeight: 30 },
        { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: '1' } } },
        { type: 'SetMirror', percentage: 10 },
      ]),
    );
    const rv = (await read('owned')).metadata.resourceVersion;

    // 3. the same template again (a GitOps re-apply of the CanaryRelease): no write at all
    for (let i = 0; i < 3; i++) must(await router.getRoutes(t));
    expect((await read('owned')).metadata.resourceVersion).toBe(rv);

    // 4. a changed template (a new timeout, a rule less): written once, the release's state kept
    const changed = {
      ...template,
      spec: { ...spec, rules: [{ ...spec.rules[0]!, timeouts: { request: '9s' } }] },
    };
    const t2 = { ...t, template: changed };
    const after = must(await router.getRoutes(t2));
    expect(after.observation).toStrictEqual({
      found: true,
      stableWeight: 70,
      canaryWeight: 30,
      headerRoutes: ['beta'],
      mirrorPercentage: 10,
      fault: false,
    });
    route = await read('owned');
    expect(rulesOf(route).map((r) => r.name)).toStrictEqual(['reviews-rel-beta', 'primary']);
    expect(rulesOf(route)[1]).toMatchObject({ timeouts: { request: '9s' } });
    expect(route.metadata.annotations?.[TEMPLATE_ANNOTATION]).toBe(`reviews-rel/${templateDigest(changed)}`);
    const rv2 = route.metadata.resourceVersion;
    must(await router.getRoutes(t2));
    expect((await read('owned')).metadata.resourceVersion).toBe(rv2);
  });

  test('a release with a template owns its GRPCRoute the same way; a template the apiserver refuses is Invalid and writes nothing', async () => {
    const spec = {
      parentRefs,
      rules: [
        {
          name: 'primary',
          matches: [{ method: { service: 'shop.Reviews' } }],
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 100 },
            { name: 'reviews-v3', port: 9080, weight: 0 },
          ],
        },
      ],
    };
    const t: GatewayRouteTarget = { ...target('owned-grpc', 'GRPCRoute'), template: { spec } };
    must(await router.getRoutes(t));
    must(await apply(t, [{ type: 'SetRoutes', stableWeight: 40, canaryWeight: 60 }]));
    const rv = (await read('owned-grpc', GRPC_ROUTES)).metadata.resourceVersion;
    // a parent port above 65535: refused by the apiserver's schema
    const bad = { spec: { ...spec, parentRefs: [{ ...parentRefs[0]!, port: 70_000 }] } };
    const refused = await router.getRoutes({ ...t, template: bad });
    expect(!refused.ok && refused.error.kind).toBe('Invalid');
    expect((await read('owned-grpc', GRPC_ROUTES)).metadata.resourceVersion).toBe(rv);
    // the good template again: still no write, the release's weights as they were
    const again = must(await router.getRoutes(t));
    expect(again.observation).toMatchObject({ stableWeight: 40, canaryWeight: 60 });
    expect((await read('owned-grpc', GRPC_ROUTES)).metadata.resourceVersion).toBe(rv);
  });
});
