/**
 * The pure route functions of the operator: how a VirtualService reads to `decide`
 * (`observeRoutes`) and the JSON Patch that carries out `decide`'s route actions (`routePatch`).
 * A table of literal cases, and properties over random VirtualServices and action lists: the
 * patch applies to the object it was made from, the result reads back as exactly the routes
 * asked for, weights stay integers in [0,100] summing to 100, and every route and field the user
 * owns is left as it was. (The same patches against the real apiserver: the integration test
 * `operator-router.test.ts`.) For a release that owns its VirtualService
 * (`ownedVirtualServiceSpec`): a template written over the live object keeps what the release did
 * and takes everything else from the template.
 */
import fc from 'fast-check';
import type { JsonPatchOp } from '../../../operator/core/json-patch.js';
import {
  observeRoutes,
  ownedVirtualServiceSpec,
  routePatch,
  type HttpRoute,
  type RouteAction,
  type RouteTarget,
  type VirtualServiceSpec,
} from '../../../operator/core/routes.js';
import type { RouteObservation } from '../../../operator/core/types.js';
import { applyPatch } from './json-patch-apply.js';

const t: RouteTarget = {
  namespace: 'shop',
  release: 'rel',
  virtualService: 'reviews',
  route: 'primary',
  service: 'reviews',
  stableSubset: 'v1',
  canarySubset: 'v2',
};

interface Vs {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  spec: VirtualServiceSpec;
}

const vsOf = (http: HttpRoute[], extra: Record<string, unknown> = {}): Vs => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', resourceVersion: '7', labels: { team: 'books' } },
  spec: { hosts: ['reviews'], ...extra, http },
});

function patched(vs: Vs, actions: readonly RouteAction[]): Vs {
  const patch = routePatch(t, vs, vs.metadata.resourceVersion, actions);
  if (!patch.ok) throw new Error(patch.error.message);
  return applyPatch(vs, patch.value);
}

// ---------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------

const managed: HttpRoute = {
  name: 'primary',
  match: [{ uri: { prefix: '/' }, headers: { 'x-region': { exact: 'eu' } } }, { uri: { prefix: '/api' } }],
  route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }],
  timeout: '5s',
  retries: { attempts: 2 },
};
const admin: HttpRoute = { name: 'admin', route: [{ destination: { host: 'reviews', subset: 'v1' } }] };
const jason = { 'end-user': { exact: 'jason' } };

/** A found route as observed: all traffic to stable, nothing else, unless `over` says otherwise. */
const seen = (over: Partial<RouteObservation & { found: true }>): RouteObservation => ({
  found: true,
  stableWeight: 100,
  canaryWeight: 0,
  headerRoutes: [],
  mirrorPercentage: 0,
  fault: false,
  ...over,
});

describe('observeRoutes', () => {
  const rows: { name: string; vs: Vs | undefined; want: RouteObservation }[] = [
    {
      name: 'no VirtualService',
      vs: undefined,
      want: { found: false, reason: 'VirtualServiceNotFound' },
    },
    {
      name: 'no route of that name: the routes it has are listed',
      vs: vsOf([admin, { name: 'other' }]),
      want: { found: false, reason: 'RouteNotFound', available: ['admin', 'other'] },
    },
    {
      name: 'a lone destination without weight takes 100; another route to stable is listed',
      vs: vsOf([admin, managed]),
      want: seen({ otherRoutes: { v1: ['admin'] } }),
    },
    {
      name: 'weights, a mirror without percentage (100), our header route with a fault',
      vs: vsOf([
        {
          name: 'rel-jason',
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          fault: { abort: { httpStatus: 503, percentage: { value: 100 } } },
        },
        // starts with the release's prefix but sends to stable: not ours
        { name: 'rel-admin', route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        {
          ...managed,
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 70 },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 30 },
          ],
          mirror: { host: 'reviews', subset: 'v2' },
        },
      ]),
      want: seen({
        stableWeight: 70,
        canaryWeight: 30,
        headerRoutes: ['jason'],
        mirrorPercentage: 100,
        fault: true,
        otherRoutes: { v1: ['rel-admin'] },
      }),
    },
    {
      name: 'other routes that send, mirror or weigh 0 to a subset, or go to another host',
      vs: vsOf([
        { route: [{ destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v2' } }] },
        {
          name: 'zero',
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 0 },
          ],
        },
        {
          name: 'shadow',
          route: [{ destination: { host: 'ratings' } }],
          mirror: { host: 'reviews', subset: 'v2' },
        },
        { name: 'elsewhere', route: [{ destination: { host: 'ratings', subset: 'v2' } }] },
        managed,
      ]),
      want: seen({ otherRoutes: { v1: ['zero'], v2: ['http[0]', 'shadow'] } }),
    },
    {
      name: 'a lone destination stating weight 50 still takes 100, as Istio applies it',
      vs: vsOf([{ ...managed, route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }] }]),
      want: seen({}),
    },
    {
      name: 'a lone canary destination stating weight 0 takes 100',
      vs: vsOf([{ ...managed, route: [{ destination: { host: 'reviews', subset: 'v2' }, weight: 0 }] }]),
      want: seen({ stableWeight: 0, canaryWeight: 100 }),
    },
    {
      name: 'a destination without a weight beside another takes none',
      vs: vsOf([
        {
          ...managed,
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
            { destination: { host: 'reviews', subset: 'v2' } },
          ],
        },
      ]),
      want: seen({}),
    },
    {
      name: 'a mirror to another subset is not the canary’s',
      vs: vsOf([{ ...managed, mirror: { host: 'reviews', subset: 'v9' }, mirrorPercentage: { value: 5 } }]),
      want: seen({}),
    },
  ];
  test.each(rows)('$name', ({ vs, want }) => {
    expect(observeRoutes(t, vs)).toStrictEqual(want);
  });
});

describe('routePatch', () => {
  const base = vsOf([admin, managed, { name: 'fallback', route: [] }], { gateways: ['mesh'] });
  const rows: { name: string; vs: Vs; actions: RouteAction[]; want: JsonPatchOp[] }[] = [
    {
      name: 'SetRoutes on a lone destination: its weight is set, the canary destination added with its host',
      vs: base,
      actions: [{ type: 'SetRoutes', stableWeight: 80, canaryWeight: 20 }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/spec/http/1/name', value: 'primary' },
        { op: 'add', path: '/spec/http/1/route/0/weight', value: 80 },
        {
          op: 'add',
          path: '/spec/http/1/route/1',
          value: { destination: { host: 'reviews', subset: 'v2' }, weight: 20 },
        },
      ],
    },
    {
      name: 'AddHeaderRoute: inserted before the managed route, matches ANDed, settings copied',
      vs: base,
      actions: [{ type: 'AddHeaderRoute', name: 'jason', headers: jason }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        {
          op: 'add',
          path: '/spec/http/1',
          value: {
            name: 'rel-jason',
            match: [
              { uri: { prefix: '/' }, headers: { 'x-region': { exact: 'eu' }, ...jason } },
              { uri: { prefix: '/api' }, headers: jason },
            ],
            route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } } }],
            timeout: '5s',
            retries: { attempts: 2 },
          },
        },
      ],
    },
    {
      name: 'AddHeaderRoute copies none of the managed route’s mirror fields (mirror_percent on the wire)',
      vs: vsOf([
        {
          name: 'primary',
          timeout: '3s',
          mirror: { host: 'reviews', subset: 'shadow' },
          mirror_percent: 20,
          route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 100 }],
        },
      ]),
      actions: [{ type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: 'yes' } } }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        {
          op: 'add',
          path: '/spec/http/0',
          value: {
            timeout: '3s',
            name: 'rel-beta',
            match: [{ headers: { 'x-beta': { exact: 'yes' } } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
        },
      ],
    },
    {
      name: 'SetMirror 0 removes a mirror to the canary',
      vs: vsOf([
        admin,
        { ...managed, mirror: { host: 'reviews', subset: 'v2' }, mirrorPercentage: { value: 5 } },
      ]),
      actions: [{ type: 'SetMirror', percentage: 0 }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/spec/http/1/name', value: 'primary' },
        { op: 'remove', path: '/spec/http/1/mirror' },
        { op: 'remove', path: '/spec/http/1/mirrorPercentage' },
      ],
    },
    {
      name: 'RemoveHeaderRoute: guarded by a test of its name at the index read',
      vs: vsOf([
        admin,
        { name: 'rel-jason', route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
        managed,
      ]),
      actions: [{ type: 'RemoveHeaderRoute', name: 'jason' }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/spec/http/1/name', value: 'rel-jason' },
        { op: 'remove', path: '/spec/http/1' },
      ],
    },
    {
      name: 'SetFault with a header route: the fault goes on the header route, not the managed one',
      vs: vsOf([{ name: 'rel-jason', route: [{ destination: { host: 'reviews', subset: 'v2' } }] }, managed]),
      actions: [{ type: 'SetFault', fault: { delay: { fixedDelay: '7s', percentage: 50 } } }],
      want: [
        { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/spec/http/0/name', value: 'rel-jason' },
        {
          op: 'add',
          path: '/spec/http/0/fault',
          value: { delay: { fixedDelay: '7s', percentage: { value: 50 } } },
        },
      ],
    },
    {
      name: 'actions that change nothing: only the precondition',
      vs: vsOf([managed]),
      actions: [{ type: 'RemoveFault' }, { type: 'SetMirror', percentage: 0 }],
      want: [{ op: 'replace', path: '/metadata/resourceVersion', value: '7' }],
    },
  ];
  test.each(rows)('$name', ({ vs, actions, want }) => {
    const patch = routePatch(t, vs, '7', actions);
    expect(patch).toStrictEqual({ ok: true, value: want });
    // and it applies to the object it was made from
    expect(() => applyPatch(vs, want)).not.toThrow();
  });

  test('fails if the managed route is not in the VirtualService', () => {
    expect(
      routePatch(t, vsOf([admin]), '7', [{ type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 }]),
    ).toStrictEqual({
      ok: false,
      error: {
        kind: 'RouteNotFound',
        status: 0,
        message: 'VirtualService shop/reviews has no HTTP route named "primary"',
      },
    });
  });

  test('a header route removed and added again in one pass is replaced, not patched where another route now stands', () => {
    // Found by the property below: jason carried the fault test's delay, gamma was added after it
    // (so before the managed route, after jason); removing and re-adding jason puts it after gamma.
    const steps: RouteAction[][] = [
      [
        { type: 'SetFault', fault: { delay: { fixedDelay: '7s', percentage: 100 } } },
        { type: 'AddHeaderRoute', name: 'jason', headers: jason },
      ],
      [{ type: 'AddHeaderRoute', name: 'gamma', headers: { 'end-user': { exact: 'gamma' } } }],
    ];
    let vs = vsOf([{ name: 'primary', route: [] }]);
    for (const actions of steps) vs = patched(vs, actions);
    expect((vs.spec.http ?? []).map((r) => [r.name, r.fault !== undefined])).toEqual([
      ['rel-jason', true],
      ['rel-gamma', false],
      ['primary', false],
    ]);
    const again = patched(vs, [
      { type: 'RemoveHeaderRoute', name: 'jason' },
      { type: 'AddHeaderRoute', name: 'jason', headers: jason },
    ]);
    expect((again.spec.http ?? []).map((r) => [r.name, r.fault !== undefined])).toEqual([
      ['rel-gamma', false],
      ['rel-jason', false],
      ['primary', false],
    ]);
  });

  test('fails to apply to a VirtualService whose routes moved since it was read', () => {
    const read = vsOf([
      admin,
      { name: 'rel-jason', route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      managed,
    ]);
    const patch = routePatch(t, read, '7', [
      { type: 'RemoveHeaderRoute', name: 'jason' },
      { type: 'SetRoutes', stableWeight: 50, canaryWeight: 50 },
    ]);
    expect(patch.ok).toBe(true);
    // someone inserted a route in front: index 1 is no longer the header route
    const moved = vsOf([admin, { name: 'hotfix' }, ...read.spec.http!.slice(1)]);
    expect(() => applyPatch(moved, patch.ok ? patch.value : [])).toThrow('test /spec/http/1/name failed');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const HEADER_NAMES = ['jason', 'beta', 'gamma'] as const;

const destination = (subset: string) =>
  fc.record(
    {
      host: fc.constantFrom('reviews', 'reviews.shop.svc.cluster.local'),
      subset: fc.constant(subset),
      port: fc.record({ number: fc.constantFrom(9080, 8080) }),
    },
    { requiredKeys: ['host', 'subset'] },
  );

/** The managed route: stable and/or canary destinations (at most one each), and settings of the user's. */
const managedRoute: fc.Arbitrary<HttpRoute> = fc
  .record(
    {
      stable: fc.option(
        fc.record({ destination: destination('v1'), weight: fc.integer({ min: 0, max: 100 }) }),
        {
          nil: undefined,
        },
      ),
      canary: fc.option(
        fc.record({ destination: destination('v2'), weight: fc.integer({ min: 0, max: 100 }) }),
        {
          nil: undefined,
        },
      ),
      unweighted: fc.boolean(),
      match: fc.option(
        fc.array(
          fc.record(
            {
              uri: fc.record({ prefix: fc.constantFrom('/', '/api') }),
              headers: fc.record({ 'x-region': fc.record({ exact: fc.constantFrom('eu', 'us') }) }),
            },
            { requiredKeys: ['uri'] },
          ),
          { maxLength: 2 },
        ),
        { nil: undefined },
      ),
      timeout: fc.option(fc.constantFrom('3s', '5s'), { nil: undefined }),
      retries: fc.option(fc.record({ attempts: fc.integer({ min: 1, max: 3 }) }), { nil: undefined }),
      mirror: fc.option(fc.record({ host: fc.constant('reviews'), subset: fc.constantFrom('v2', 'v9') }), {
        nil: undefined,
      }),
      mirrorPercentage: fc.option(fc.record({ value: fc.integer({ min: 1, max: 100 }) }), { nil: undefined }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const dests = [r.stable, r.canary].filter((d) => d !== undefined);
    // a lone destination may carry no weight (it then takes all)
    const route = dests.length === 1 && r.unweighted ? [{ destination: dests[0]!.destination }] : dests;
    const out: HttpRoute = { name: 'primary', route };
    if (r.match) out.match = r.match;
    if (r.timeout) out.timeout = r.timeout;
    if (r.retries) out.retries = r.retries;
    if (r.mirror) {
      out.mirror = r.mirror;
      if (r.mirrorPercentage) out.mirrorPercentage = r.mirrorPercentage;
    }
    return out;
  });

/** A route the user owns: never ours, even when its name starts with the release's prefix. */
const userRoute = (i: number): fc.Arbitrary<HttpRoute> =>
  fc.record(
    {
      name: fc.constantFrom(`user-${i}`, `rel-user-${i}`),
      route: fc.array(
        fc.record({ destination: destination('v1'), weight: fc.integer({ min: 0, max: 100 }) }),
        { minLength: 1, maxLength: 2 },
      ),
      timeout: fc.constantFrom('1s', '2s'),
      fault: fc.constant({ abort: { httpStatus: 500, percentage: { value: 1 } } }),
    },
    { requiredKeys: ['name', 'route'] },
  );

/** VirtualServices as read from the apiserver (plain JSON objects). */
const virtualService: fc.Arbitrary<Vs> = fc
  .record({
    before: fc.array(fc.nat(), { maxLength: 2 }),
    after: fc.array(fc.nat(), { maxLength: 2 }),
    gateways: fc.option(fc.constant(['mesh', 'shop/gw']), { nil: undefined }),
  })
  .chain(({ before, after, gateways }) =>
    fc
      .tuple(
        fc.tuple(...before.map((_, i) => userRoute(i))),
        managedRoute,
        fc.tuple(...after.map((_, i) => userRoute(10 + i))),
      )
      .map(([b, m, a]) => vsOf([...b, m, ...a], gateways ? { gateways } : {})),
  )
  .map((vs) => JSON.parse(JSON.stringify(vs)) as Vs);

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
  fc.constantFrom(
    { type: 'SetFault' as const, fault: { delay: { fixedDelay: '7s', percentage: 100 } } },
    { type: 'SetFault' as const, fault: { abort: { httpStatus: 503, percentage: 10 } } },
    { type: 'RemoveFault' as const },
  ),
);

/** What observeRoutes must read after `actions` on a VirtualService that read as `o`. */
function expected(o: RouteObservation & { found: true }, actions: readonly RouteAction[]) {
  let { stableWeight, canaryWeight, mirrorPercentage } = o;
  let headerRoutes = [...o.headerRoutes];
  let fault: boolean | undefined;
  for (const a of actions) {
    if (a.type === 'SetRoutes') [stableWeight, canaryWeight] = [a.stableWeight, a.canaryWeight];
    else if (a.type === 'AddHeaderRoute' && !headerRoutes.includes(a.name)) headerRoutes.push(a.name);
    else if (a.type === 'RemoveHeaderRoute') headerRoutes = headerRoutes.filter((n) => n !== a.name);
    else if (a.type === 'SetMirror') mirrorPercentage = a.percentage;
    else if (a.type === 'SetFault') fault = true;
    else if (a.type === 'RemoveFault') fault = false;
  }
  return { stableWeight, canaryWeight, mirrorPercentage, headerRoutes, fault };
}

const ours = (r: HttpRoute) =>
  r.name === 'primary' ||
  (r.name?.startsWith('rel-') === true && (r.route ?? []).every((d) => d.destination?.subset === 'v2'));

describe('routePatch properties', () => {
  test('a patch applies to the VirtualService it was made from and reads back as exactly the routes asked for', () => {
    fc.assert(
      fc.property(
        virtualService,
        fc.array(fc.array(action, { maxLength: 5 }), { minLength: 1, maxLength: 4 }),
        (vs0, batches) => {
          let vs = vs0;
          for (const actions of batches) {
            const before = observeRoutes(t, vs);
            if (!before.found) throw new Error('the managed route is always there');
            const next = patched(vs, actions); // throws if any op (a test included) does not apply
            const after = observeRoutes(t, next);
            const want = expected(before, actions);
            if (!after.found) throw new Error('the managed route is never removed');
            // header routes are a set to decide (each sends only to the canary): compared by name
            const names = (list: readonly string[]) => [...list].sort();
            expect({ ...after, headerRoutes: names(after.headerRoutes) }).toMatchObject({
              stableWeight: want.stableWeight,
              canaryWeight: want.canaryWeight,
              mirrorPercentage: want.mirrorPercentage,
              headerRoutes: names(want.headerRoutes),
            });
            if (want.fault !== undefined) expect(after.fault).toBe(want.fault);
            else if (!actions.some((a) => a.type === 'AddHeaderRoute' || a.type === 'RemoveHeaderRoute'))
              expect(after.fault).toBe(before.fault);
            vs = next;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('after SetRoutes the managed route’s weights are integers in [0,100] summing to 100', () => {
    fc.assert(
      fc.property(
        virtualService,
        fc.array(action, { maxLength: 5 }),
        fc.integer({ min: 0, max: 100 }),
        (vs, pre, w) => {
          const next = patched(patched(vs, pre), [
            { type: 'SetRoutes', stableWeight: 100 - w, canaryWeight: w },
          ]);
          const route = next.spec.http!.find((r) => r.name === 'primary')!.route!;
          const weights = route.map((d) => d.weight);
          for (const x of weights) {
            expect(Number.isInteger(x)).toBe(true);
            expect(x).toBeGreaterThanOrEqual(0);
            expect(x).toBeLessThanOrEqual(100);
          }
          expect(weights.reduce((a, b) => a! + b!, 0)).toBe(100);
          expect(route.map((d) => d.destination?.subset).sort()).toStrictEqual(['v1', 'v2']);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('every route and field the user owns is left as it was', () => {
    fc.assert(
      fc.property(virtualService, fc.array(action, { maxLength: 6 }), (vs, actions) => {
        const next = patched(vs, actions);
        // the object outside spec.http
        expect({ ...next, spec: { ...next.spec, http: undefined } }).toStrictEqual({
          ...vs,
          spec: { ...vs.spec, http: undefined },
        });
        // the user's routes, in their order
        expect(next.spec.http!.filter((r) => !ours(r))).toStrictEqual(vs.spec.http!.filter((r) => !ours(r)));
        // of the managed route, everything but the weights, the canary destination, mirror and fault
        const was = vs.spec.http!.find((r) => r.name === 'primary')!;
        const now = next.spec.http!.find((r) => r.name === 'primary')!;
        const settings = (r: HttpRoute) => ({
          ...r,
          route: undefined,
          mirror: undefined,
          mirrorPercentage: undefined,
          fault: undefined,
        });
        expect(settings(now)).toStrictEqual(settings(was));
        for (const d of was.route ?? []) {
          expect(
            now.route!.find((x) => x.destination?.subset === d.destination?.subset)?.destination,
          ).toStrictEqual(d.destination);
        }
        // a mirror to another subset than the canary's is the user's
        if (was.mirror?.subset !== 'v2' && !actions.some((a) => a.type === 'SetMirror' && a.percentage > 0))
          expect([now.mirror, now.mirrorPercentage]).toStrictEqual([was.mirror, was.mirrorPercentage]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ownedVirtualServiceSpec', () => {
  const template = vsOf([
    {
      name: 'jason',
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      route: [{ destination: { host: 'reviews', subset: 'v1' } }],
    },
    {
      name: 'primary',
      timeout: '3s',
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 100 },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 0 },
      ],
    },
  ]).spec;

  test('without a live VirtualService it is the template as it is', () => {
    expect(ownedVirtualServiceSpec(t, template, undefined)).toStrictEqual(template);
  });

  test('a changed template keeps the weights, header routes, mirror and fault the release set, and takes the rest from the template', () => {
    const live = patched({ ...vsOf([]), spec: template }, [
      { type: 'SetRoutes', stableWeight: 60, canaryWeight: 40 },
      { type: 'AddHeaderRoute', name: 'beta', headers: { 'x-beta': { exact: '1' } } },
      { type: 'SetMirror', percentage: 20 },
      { type: 'SetFault', fault: { abort: { httpStatus: 503, percentage: 10 } } },
    ]);
    // the user's Git change: a new timeout, and the header route of jason gone
    const next = { ...template, http: [{ ...template.http![1]!, timeout: '5s' }] };
    expect(ownedVirtualServiceSpec(t, next, live)).toStrictEqual({
      hosts: ['reviews'],
      http: [
        {
          name: 'rel-beta',
          timeout: '3s',
          match: [{ headers: { 'x-beta': { exact: '1' } } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          fault: { abort: { httpStatus: 503, percentage: { value: 10 } } },
        },
        {
          name: 'primary',
          timeout: '5s',
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 60 },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 40 },
          ],
          mirror: { host: 'reviews', subset: 'v2' },
          mirrorPercentage: { value: 20 },
        },
      ],
    });
  });

  test('the next release’s template (v2 stable, v3 canary) starts where the promotion left the traffic; the old version leaves the route', () => {
    const live = vsOf([
      {
        name: 'primary',
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 0 },
          { destination: { host: 'reviews', subset: 'v2' }, weight: 100 },
        ],
      },
    ]);
    const next = vsOf([
      {
        name: 'primary',
        route: [
          { destination: { host: 'reviews', subset: 'v2' }, weight: 100 },
          { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
        ],
      },
    ]).spec;
    const t3 = { ...t, stableSubset: 'v2', canarySubset: 'v3' };
    expect(ownedVirtualServiceSpec(t3, next, live)).toStrictEqual(next);
  });

  const userChange = fc.constantFrom<(s: VirtualServiceSpec) => VirtualServiceSpec>(
    (s) => s,
    (s) => ({ ...s, http: s.http!.map((r) => (r.name === 'primary' ? { ...r, timeout: '9s' } : r)) }),
    (s) => ({ ...s, http: s.http!.filter((r) => r.name === 'primary') }),
    (s) => ({ ...s, hosts: ['reviews', 'reviews.shop.svc.cluster.local'] }),
  );
  const state = (o: RouteObservation) =>
    o.found
      ? {
          stableWeight: o.stableWeight,
          canaryWeight: o.canaryWeight,
          mirrorPercentage: o.mirrorPercentage,
          headerRoutes: [...o.headerRoutes].sort(),
          fault: o.fault,
        }
      : o;

  test('properties: the release’s state survives any template change, the user’s routes are the template’s, and writing it again changes nothing', () => {
    fc.assert(
      fc.property(virtualService, fc.array(action, { maxLength: 6 }), userChange, (vs, actions, change) => {
        const live = patched(vs, actions);
        const next = change(vs.spec);
        const owned = ownedVirtualServiceSpec(t, next, live);
        expect(state(observeRoutes(t, { spec: owned }))).toStrictEqual(state(observeRoutes(t, live)));
        expect(owned.http!.filter((r) => !ours(r))).toStrictEqual(next.http!.filter((r) => !ours(r)));
        expect({ ...owned, http: undefined }).toStrictEqual({ ...next, http: undefined });
        expect(ownedVirtualServiceSpec(t, next, { spec: owned })).toStrictEqual(owned);
        // weights stay integers summing to 100 once the release has set them
        if (actions.some((a) => a.type === 'SetRoutes')) {
          const route = owned.http!.find((r) => r.name === 'primary')!.route!;
          expect(route.reduce((sum, d) => sum + d.weight!, 0)).toBe(100);
        }
      }),
      { numRuns: 300 },
    );
  });
});
