/**
 * The pure Gateway API route functions of the operator: how an HTTPRoute or GRPCRoute reads to
 * `decide` (`observeGatewayRoute`) and the JSON Patch that carries out `decide`'s route actions
 * (`gatewayRoutePatch`). A table of literal cases, and properties over random routes and action
 * lists: the patch applies to the object it was made from, reads back as exactly the weights,
 * header rules and mirror asked for, and leaves every rule the user owns as it was. (The same
 * patches against the real apiserver with the Gateway API CRDs: `operator-gateway-router.test.ts`.)
 * And the route a release owns (`ownedGatewayRouteSpec`): a template written over the live route
 * keeps what the release did to it, whatever the user changed in the template.
 */
import fc from 'fast-check';
import {
  gatewayRoutePatch,
  observeGatewayRoute,
  ownedGatewayRouteSpec,
  type GatewayRouteSpec,
  type GatewayRouteTarget,
  type GatewayRule,
} from '../../../operator/core/gateway-routes.js';
import type { RouteAction } from '../../../operator/core/routes.js';
import type { RouteObservation } from '../../../operator/core/types.js';
import { applyPatch } from './json-patch-apply.js';

const t: GatewayRouteTarget = {
  kind: 'HTTPRoute',
  namespace: 'shop',
  release: 'rel',
  name: 'reviews',
  rule: 'primary',
  stableSubset: 'v1',
  canarySubset: 'v2',
  stableBackend: 'reviews-v1',
  canaryBackend: 'reviews-v2',
};

interface Route {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion: string };
  spec: { parentRefs: unknown[]; rules: GatewayRule[] };
}

const routeOf = (rules: GatewayRule[]): Route => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'reviews', resourceVersion: '7' },
  spec: { parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }], rules },
});

function patched(r: Route, actions: readonly RouteAction[]): Route {
  const patch = gatewayRoutePatch(t, r, r.metadata.resourceVersion, actions);
  if (!patch.ok) throw new Error(patch.error.message);
  return applyPatch(r, patch.value);
}

const managed: GatewayRule = {
  name: 'primary',
  matches: [
    { path: { type: 'PathPrefix', value: '/' }, headers: [{ name: 'x-region', value: 'eu' }] },
    { path: { type: 'PathPrefix', value: '/api/' } },
  ],
  filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-a', value: '1' }] } }],
  backendRefs: [
    { name: 'reviews-v1', port: 9080, weight: 100 },
    { name: 'reviews-v2', port: 9080, weight: 0 },
  ],
  timeouts: { request: '5s' },
};
const admin: GatewayRule = {
  name: 'admin',
  matches: [{ path: { type: 'Exact', value: '/admin' } }],
  backendRefs: [{ name: 'reviews-v1', port: 9080 }],
};

const seen = (over: Partial<RouteObservation & { found: true }>): RouteObservation => ({
  found: true,
  stableWeight: 100,
  canaryWeight: 0,
  headerRoutes: [],
  mirrorPercentage: 0,
  fault: false,
  ...over,
});

describe('observeGatewayRoute', () => {
  const rows: {
    name: string;
    route: Route | undefined;
    want: RouteObservation;
    target?: GatewayRouteTarget;
  }[] = [
    { name: 'no HTTPRoute', route: undefined, want: { found: false, reason: 'HTTPRouteNotFound' } },
    {
      name: 'no GRPCRoute',
      route: undefined,
      target: { ...t, kind: 'GRPCRoute' },
      want: { found: false, reason: 'GRPCRouteNotFound' },
    },
    {
      name: 'no rule of that name: the named rules it has are listed',
      route: routeOf([admin, { backendRefs: [] }]),
      want: { found: false, reason: 'RouteNotFound', available: ['admin'] },
    },
    {
      name: 'stable 100 / canary 0; another rule to stable is listed under the stable subset',
      route: routeOf([admin, managed]),
      want: seen({ otherRoutes: { v1: ['admin'] } }),
    },
    {
      name: 'weights are shares of their sum (an unset weight counts 1)',
      route: routeOf([
        {
          ...managed,
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 3 },
            { name: 'reviews-v2', port: 9080 },
          ],
        },
      ]),
      want: seen({ stableWeight: 75, canaryWeight: 25 }),
    },
    {
      name: 'a lone backendRef without weight takes all',
      route: routeOf([{ ...managed, backendRefs: [{ name: 'reviews-v1', port: 9080 }] }]),
      want: seen({}),
    },
    {
      name: 'a backendRef to a Service of another namespace or kind is not the version',
      route: routeOf([
        {
          ...managed,
          backendRefs: [
            { name: 'reviews-v1', namespace: 'other', port: 9080, weight: 50 },
            { group: 'x.io', kind: 'Backend', name: 'reviews-v2', weight: 50 },
          ],
        },
      ]),
      want: seen({ stableWeight: 0, canaryWeight: 0 }),
    },
    {
      name: 'our header rule, a fractional mirror, and an unnamed rule mirroring the canary',
      route: routeOf([
        { name: 'rel-jason', backendRefs: [{ name: 'reviews-v2', port: 9080 }] },
        // starts with the release's prefix but sends to stable: not ours
        { name: 'rel-admin', backendRefs: [{ name: 'reviews-v1', port: 9080 }] },
        {
          backendRefs: [{ name: 'ratings', port: 9080 }],
          filters: [
            { type: 'RequestMirror', requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 } } },
          ],
        },
        {
          ...managed,
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 70 },
            { name: 'reviews-v2', port: 9080, weight: 30 },
          ],
          filters: [
            {
              type: 'RequestMirror',
              requestMirror: {
                backendRef: { name: 'reviews-v2', port: 9080 },
                fraction: { numerator: 125_000, denominator: 1_000_000 },
              },
            },
          ],
        },
      ]),
      want: seen({
        stableWeight: 70,
        canaryWeight: 30,
        headerRoutes: ['jason'],
        mirrorPercentage: 12.5,
        otherRoutes: { v1: ['rel-admin'], v2: ['rules[2]'] },
      }),
    },
  ];
  test.each(rows)('$name', ({ route, want, target }) => {
    expect(observeGatewayRoute(target ?? t, route)).toStrictEqual(want);
  });
});

describe('gatewayRoutePatch', () => {
  test('SetRoutes writes the two weights in place, guarded by the rule name and the resourceVersion', () => {
    const r = routeOf([admin, managed]);
    const patch = gatewayRoutePatch(t, r, '7', [{ type: 'SetRoutes', stableWeight: 90, canaryWeight: 10 }]);
    expect(patch).toStrictEqual({
      ok: true,
      value: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/spec/rules/1/name', value: 'primary' },
        {
          op: 'add',
          path: '/spec/rules/1/backendRefs',
          value: [
            { name: 'reviews-v1', port: 9080, weight: 90 },
            { name: 'reviews-v2', port: 9080, weight: 10 },
          ],
        },
      ],
    });
    const after = applyPatch(r, patch.ok ? patch.value : []);
    expect(after.spec.rules[0]).toStrictEqual(admin);
    expect(observeGatewayRoute(t, after)).toStrictEqual(
      seen({ stableWeight: 90, canaryWeight: 10, otherRoutes: { v1: ['admin'] } }),
    );
  });

  test('a missing canary backendRef is added with the stable one’s port', () => {
    const r = routeOf([
      { name: 'primary', backendRefs: [{ kind: 'Service', name: 'reviews-v1', port: 9080 }] },
    ]);
    const after = patched(r, [{ type: 'SetRoutes', stableWeight: 80, canaryWeight: 20 }]);
    expect(after.spec.rules[0]!.backendRefs).toStrictEqual([
      { kind: 'Service', name: 'reviews-v1', port: 9080, weight: 80 },
      { kind: 'Service', name: 'reviews-v2', port: 9080, weight: 20 },
    ]);
  });

  test('a header rule is inserted before the managed rule: its matches AND the headers, the canary only, the same filters and timeouts', () => {
    const r = routeOf([admin, managed]);
    const after = patched(r, [
      {
        type: 'AddHeaderRoute',
        name: 'jason',
        headers: { 'end-user': { exact: 'jason' }, 'x-region': { prefix: 'u.s' } },
      },
    ]);
    expect(after.spec.rules.map((x) => x.name)).toStrictEqual(['admin', 'rel-jason', 'primary']);
    expect(after.spec.rules[1]).toStrictEqual({
      name: 'rel-jason',
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [
            { name: 'end-user', type: 'Exact', value: 'jason' },
            { name: 'x-region', type: 'RegularExpression', value: 'u\\.s.*' },
          ],
        },
        {
          path: { type: 'PathPrefix', value: '/api/' },
          headers: [
            { name: 'end-user', type: 'Exact', value: 'jason' },
            { name: 'x-region', type: 'RegularExpression', value: 'u\\.s.*' },
          ],
        },
      ],
      filters: managed.filters,
      backendRefs: [{ name: 'reviews-v2', port: 9080 }],
      timeouts: { request: '5s' },
    });
    expect(after.spec.rules[2]).toStrictEqual(managed);
    expect(observeGatewayRoute(t, after)).toMatchObject({ headerRoutes: ['jason'] });
    const removed = patched(after, [{ type: 'RemoveHeaderRoute', name: 'jason' }]);
    expect(removed).toStrictEqual(r);
  });

  test('a mirror is a RequestMirror filter to the canary Service beside the user’s filters, and goes away at 0', () => {
    const r = routeOf([managed]);
    const whole = patched(r, [{ type: 'SetMirror', percentage: 50 }]);
    expect(whole.spec.rules[0]!.filters).toStrictEqual([
      managed.filters![0],
      {
        type: 'RequestMirror',
        requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, percent: 50 },
      },
    ]);
    const fraction = patched(whole, [{ type: 'SetMirror', percentage: 0.5 }]);
    expect(fraction.spec.rules[0]!.filters![1]!.requestMirror).toStrictEqual({
      backendRef: { name: 'reviews-v2', port: 9080 },
      fraction: { numerator: 5000, denominator: 1_000_000 },
    });
    expect(observeGatewayRoute(t, fraction)).toMatchObject({ mirrorPercentage: 0.5 });
    expect(patched(fraction, [{ type: 'SetMirror', percentage: 0 }])).toStrictEqual(r);
  });

  test('fails if the rule is not in the route, or has neither version’s backendRef', () => {
    expect(
      gatewayRoutePatch(t, routeOf([admin]), '7', [
        { type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 },
      ]),
    ).toStrictEqual({
      ok: false,
      error: {
        kind: 'RouteNotFound',
        status: 0,
        message: 'HTTPRoute shop/reviews has no rule named "primary"',
      },
    });
    const other = routeOf([{ name: 'primary', backendRefs: [{ name: 'ratings', port: 9080 }] }]);
    const res = gatewayRoutePatch(t, other, '7', [{ type: 'SetRoutes', stableWeight: 100, canaryWeight: 0 }]);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error.message).toBe(
      'rule "primary" of HTTPRoute shop/reviews has no backendRef to Service reviews-v1 or reviews-v2: add both (with their port) to the rule',
    );
  });

  test('fails if asked for a fault: the Gateway API has no fault injection', () => {
    const res = gatewayRoutePatch(t, routeOf([managed]), '7', [
      { type: 'SetFault', fault: { abort: { httpStatus: 503, percentage: 100 } } },
    ]);
    expect(res).toStrictEqual({
      ok: false,
      error: {
        kind: 'Unsupported',
        status: 0,
        message:
          'HTTPRoute shop/reviews: the Gateway API has no fault injection; a faultTest needs a VirtualService route',
      },
    });
  });

  test('fails to apply to a route whose rules moved since it was read', () => {
    const r = routeOf([admin, managed]);
    const patch = gatewayRoutePatch(t, r, '7', [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }]);
    const moved = routeOf([managed, admin]);
    expect(() => applyPatch(moved, patch.ok ? patch.value : [])).toThrow('test /spec/rules/1/name failed');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const HEADER_NAMES = ['jason', 'beta'] as const;

const userRule = (i: number): fc.Arbitrary<GatewayRule> =>
  fc.record({
    name: fc.constantFrom(`user-${i}`, `rel-user-${i}`),
    matches: fc.constant([{ path: { type: 'Exact', value: `/u${i}` } }]),
    backendRefs: fc.array(
      fc.record({
        name: fc.constantFrom('reviews-v1', 'ratings'),
        port: fc.constant(9080),
        weight: fc.nat(100),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  });

const managedRule: fc.Arbitrary<GatewayRule> = fc
  .record({
    stable: fc.option(fc.nat(100), { nil: undefined }),
    canary: fc.option(fc.nat(100), { nil: undefined }),
    timeouts: fc.option(fc.constant({ request: '3s' }), { nil: undefined }),
    matches: fc.option(fc.constant<GatewayRule['matches']>([{ path: { type: 'PathPrefix', value: '/' } }]), {
      nil: undefined,
    }),
  })
  .map(({ stable, canary, timeouts, matches }) => ({
    name: 'primary',
    ...(matches ? { matches } : {}),
    backendRefs: [
      { name: 'reviews-v1', port: 9080, ...(stable !== undefined ? { weight: stable } : {}) },
      ...(canary !== undefined ? [{ name: 'reviews-v2', port: 9080, weight: canary }] : []),
    ],
    ...(timeouts ? { timeouts } : {}),
  }));

const route: fc.Arbitrary<Route> = fc
  .record({ before: fc.array(fc.nat(), { maxLength: 2 }), after: fc.array(fc.nat(), { maxLength: 2 }) })
  .chain(({ before, after }) =>
    fc
      .tuple(
        fc.tuple(...before.map((_, i) => userRule(i))),
        managedRule,
        fc.tuple(...after.map((_, i) => userRule(10 + i))),
      )
      // plain objects, as read from the apiserver (fast-check's records have no prototype)
      .map(([b, m, a]) => JSON.parse(JSON.stringify(routeOf([...b, m, ...a]))) as Route),
  );

const action: fc.Arbitrary<RouteAction> = fc.oneof(
  fc
    .integer({ min: 0, max: 100 })
    .map((w) => ({ type: 'SetRoutes' as const, stableWeight: 100 - w, canaryWeight: w })),
  fc.constantFrom(...HEADER_NAMES).map((name) => ({
    type: 'AddHeaderRoute' as const,
    name,
    headers: { 'end-user': { exact: name } },
  })),
  fc.constantFrom(...HEADER_NAMES).map((name) => ({ type: 'RemoveHeaderRoute' as const, name })),
  fc.integer({ min: 0, max: 100 }).map((percentage) => ({ type: 'SetMirror' as const, percentage })),
);

describe('gatewayRoutePatch properties', () => {
  test('applies to the route it was made from, reads back as asked, and leaves the user’s rules alone', () => {
    fc.assert(
      fc.property(route, fc.array(action, { minLength: 1, maxLength: 6 }), (r, actions) => {
        const after = patched(r, actions);
        const o = observeGatewayRoute(t, after);
        if (!o.found) return false;
        // what the actions asked for, in order
        let weights: [number, number] | undefined;
        const before = observeGatewayRoute(t, r);
        const headers = new Set(before.found ? before.headerRoutes : []);
        let mirror: number | undefined;
        for (const a of actions) {
          if (a.type === 'SetRoutes') weights = [a.stableWeight, a.canaryWeight];
          if (a.type === 'AddHeaderRoute') headers.add(a.name);
          if (a.type === 'RemoveHeaderRoute') headers.delete(a.name);
          if (a.type === 'SetMirror') mirror = a.percentage;
        }
        if (weights) {
          expect([o.stableWeight, o.canaryWeight]).toStrictEqual(weights);
          expect(o.stableWeight + o.canaryWeight).toBe(100);
        }
        expect(new Set(o.headerRoutes)).toStrictEqual(headers);
        if (mirror !== undefined) expect(o.mirrorPercentage).toBe(mirror);
        // the user's rules: the same, in the same order
        const users = (x: Route) =>
          x.spec.rules.filter((u) => u.name !== 'primary' && !/^rel-(jason|beta)$/.test(u.name ?? ''));
        expect(users(after)).toStrictEqual(users(r));
        expect(after.spec.parentRefs).toStrictEqual(r.spec.parentRefs);
        // the managed rule keeps all but its weights and mirror
        const m = (x: Route) => x.spec.rules.find((u) => u.name === 'primary')!;
        expect(m(after).timeouts).toStrictEqual(m(r).timeouts);
        expect(m(after).matches).toStrictEqual(m(r).matches);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe('ownedGatewayRouteSpec', () => {
  const template = routeOf([admin, managed]).spec;

  test('without a live route it is the template as it is', () => {
    expect(ownedGatewayRouteSpec(t, template, undefined)).toStrictEqual(template);
  });

  test('a changed template keeps the weights, header rules and mirror the release set, and takes the rest from the template', () => {
    const live = patched({ ...routeOf([]), spec: template }, [
      { type: 'SetRoutes', stableWeight: 60, canaryWeight: 40 },
      { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: '1' } } },
      { type: 'SetMirror', percentage: 20 },
    ]);
    // the user's Git change: a new timeout, the admin rule gone, a second parent
    const next = {
      ...template,
      parentRefs: [...template.parentRefs, { name: 'mesh-gw' }],
      rules: [{ ...managed, timeouts: { request: '9s' } }],
    };
    const headerRule = live.spec.rules.find((r) => r.name === 'rel-beta')!;
    expect(ownedGatewayRouteSpec(t, next, live)).toStrictEqual({
      parentRefs: next.parentRefs,
      rules: [
        headerRule,
        {
          ...managed,
          timeouts: { request: '9s' },
          filters: [
            ...managed.filters!,
            {
              type: 'RequestMirror',
              requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, percent: 20 },
            },
          ],
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 60 },
            { name: 'reviews-v2', port: 9080, weight: 40 },
          ],
        },
      ],
    });
  });

  test('a template without the canary backendRef gets it with the live weight, shaped like the stable one', () => {
    const live = patched(routeOf([managed]), [{ type: 'SetRoutes', stableWeight: 30, canaryWeight: 70 }]);
    const next = routeOf([{ name: 'primary', backendRefs: [{ name: 'reviews-v1', port: 9080 }] }]).spec;
    expect(ownedGatewayRouteSpec(t, next, live).rules).toStrictEqual([
      {
        name: 'primary',
        backendRefs: [
          { name: 'reviews-v1', port: 9080, weight: 30 },
          { name: 'reviews-v2', port: 9080, weight: 70 },
        ],
      },
    ]);
  });

  test('the next release’s template (v2 stable, v3 canary) starts where the promotion left the traffic; the old version leaves the rule', () => {
    const live = routeOf([
      {
        name: 'primary',
        backendRefs: [
          { name: 'reviews-v1', port: 9080, weight: 0 },
          { name: 'reviews-v2', port: 9080, weight: 100 },
        ],
      },
    ]);
    const next = routeOf([
      {
        name: 'primary',
        backendRefs: [
          { name: 'reviews-v2', port: 9080, weight: 100 },
          { name: 'reviews-v3', port: 9080, weight: 0 },
        ],
      },
    ]).spec;
    const t3 = {
      ...t,
      stableSubset: 'v2',
      canarySubset: 'v3',
      stableBackend: 'reviews-v2',
      canaryBackend: 'reviews-v3',
    };
    expect(ownedGatewayRouteSpec(t3, next, live)).toStrictEqual(next);
  });

  test('a GRPCRoute’s template is merged the same way', () => {
    const g = { ...t, kind: 'GRPCRoute' as const };
    const grpcManaged: GatewayRule = {
      name: 'primary',
      matches: [{ method: { service: 'shop.Reviews' } }],
      backendRefs: [
        { name: 'reviews-v1', port: 9080, weight: 100 },
        { name: 'reviews-v2', port: 9080, weight: 0 },
      ],
    };
    const live = patched(routeOf([grpcManaged]), [{ type: 'SetRoutes', stableWeight: 10, canaryWeight: 90 }]);
    const next = routeOf([{ ...grpcManaged, matches: [{ method: { service: 'shop.ReviewsV2' } }] }]).spec;
    const owned = ownedGatewayRouteSpec(g, next, live);
    expect(owned.rules![0]!.matches).toStrictEqual([{ method: { service: 'shop.ReviewsV2' } }]);
    expect(observeGatewayRoute(g, { spec: owned })).toMatchObject({ stableWeight: 10, canaryWeight: 90 });
  });

  const userChange = fc.constantFrom<(s: GatewayRouteSpec) => GatewayRouteSpec>(
    (s) => s,
    (s) => ({
      ...s,
      rules: s.rules!.map((r) => (r.name === 'primary' ? { ...r, timeouts: { request: '9s' } } : r)),
    }),
    (s) => ({ ...s, rules: s.rules!.filter((r) => r.name === 'primary') }),
    (s) => ({ ...s, parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9081 }] }),
    (s) => ({
      ...s,
      rules: s.rules!.map((r) =>
        r.name === 'primary'
          ? { ...r, filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'reviews.shop' } }] }
          : r,
      ),
    }),
  );
  const state = (o: RouteObservation) =>
    o.found
      ? {
          stableWeight: o.stableWeight,
          canaryWeight: o.canaryWeight,
          mirrorPercentage: o.mirrorPercentage,
          headerRoutes: [...o.headerRoutes].sort(),
        }
      : o;
  const ours = (r: GatewayRule) => r.name === 'primary' || /^rel-(jason|beta)$/.test(r.name ?? '');

  test('properties: the release’s state survives any template change, the user’s rules are the template’s, and writing it again changes nothing', () => {
    fc.assert(
      fc.property(route, fc.array(action, { maxLength: 6 }), userChange, (r, actions, change) => {
        const live = patched(r, actions);
        const next = change(r.spec);
        const owned = ownedGatewayRouteSpec(t, next, live);
        expect(state(observeGatewayRoute(t, { spec: owned }))).toStrictEqual(
          state(observeGatewayRoute(t, live)),
        );
        expect(owned.rules!.filter((x) => !ours(x))).toStrictEqual(next.rules!.filter((x) => !ours(x)));
        expect({ ...owned, rules: undefined }).toStrictEqual({ ...next, rules: undefined });
        // the template's own filters of the managed rule stay; only the canary mirror is the release's
        const userFilters = (x: GatewayRouteSpec) =>
          (x.rules!.find((u) => u.name === 'primary')!.filters ?? []).filter(
            (f) => f.type !== 'RequestMirror',
          );
        expect(userFilters(owned)).toStrictEqual(userFilters(next));
        expect(ownedGatewayRouteSpec(t, next, { spec: owned })).toStrictEqual(owned);
        // weights stay integers summing to 100 once the release has set them
        if (actions.some((a) => a.type === 'SetRoutes')) {
          const refs = owned.rules!.find((u) => u.name === 'primary')!.backendRefs!;
          const sum = refs
            .filter((b) => b.name === 'reviews-v1' || b.name === 'reviews-v2')
            .reduce((n, b) => n + b.weight!, 0);
          expect(sum).toBe(100);
        }
      }),
      { numRuns: 300 },
    );
  });
});
