/**
 * explain through the Gateway API and ambient mode: HTTPRoute/GRPCRoute matching with the Gateway
 * API's precedence, weighted backendRefs, filters, Service and Gateway parents, and where ambient
 * mode enforces each AuthorizationPolicy (ztunnel L4 with the caller's or the waypoint's identity,
 * the waypoint L7 with the caller's).
 */
import { Testing } from 'cdk8s';
import { ZeroTrustPolicy } from '../../../constructs/index.js';
import { bookinfo, buildScenario } from '../../../examples/bookinfo/bookinfo.js';
import { explain, formatExplanation, type ExplainRequest } from '../../../mesh/explain/explain.js';
import { reachability } from '../../../mesh/explain/reachability.js';
import { buildModel, type DeclaredCall, type KubeObject, type MeshModel } from '../../../mesh/model/index.js';
import { ap, baseMesh, principal, service } from '../validator/fixtures.js';

const GW = 'gateway.networking.k8s.io/v1';

/** The base mesh with a Service per reviews version, for weighted backends. */
function versionServices(): KubeObject[] {
  return ['v1', 'v2'].map((v) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `reviews-${v}`, namespace: 'default' },
    spec: { selector: { app: 'reviews', version: v }, ports: [{ name: 'http', port: 9080 }] },
  }));
}

function route(
  name: string,
  rules: object[],
  extra: { created?: string; kind?: string; parent?: object } = {},
): KubeObject {
  return {
    apiVersion: GW,
    kind: extra.kind ?? 'HTTPRoute',
    metadata: {
      name,
      namespace: 'default',
      ...(extra.created ? { creationTimestamp: extra.created } : {}),
    },
    spec: {
      parentRefs: [extra.parent ?? { group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules,
    },
  };
}

const to = (...versions: (string | [string, number])[]) =>
  versions.map((v) =>
    typeof v === 'string'
      ? { name: `reviews-${v}`, port: 9080 }
      : { name: `reviews-${v[0]}`, port: 9080, weight: v[1] },
  );

function model(objects: KubeObject[], base = baseMesh()): MeshModel {
  const m = buildModel([...base, ...versionServices(), ...objects].map((object) => ({ object })));
  expect(m.invalid.map((i) => `${i.kind}/${i.name}: ${i.problems.join('; ')}`)).toEqual([]);
  return m;
}

/** Where the request goes: each destination's workloads and share, and the rule. */
function where(m: MeshModel, r: Partial<ExplainRequest>) {
  const e = explain(m, { from: 'productpage', host: 'reviews', ...r });
  return {
    route: e.gatewayApiRoute ? `${e.gatewayApiRoute.name} rules[${e.route?.index}]` : undefined,
    to: e.destinations.map((d) => `${d.workloads.join(',')} ${Math.round(d.probability * 100)}%`),
  };
}

describe('explain through HTTPRoute matching (Gateway API precedence, as Istio orders it)', () => {
  test('an Exact path beats a longer PathPrefix, a longer prefix a shorter one, whatever the rule order', () => {
    const m = model([
      route('reviews', [
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: to('v1') },
        { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: to('v2') },
        { matches: [{ path: { type: 'Exact', value: '/api/health' } }], backendRefs: to('v1') },
      ]),
    ]);
    expect(where(m, { path: '/api/reviews/1' })).toEqual({
      route: 'default/reviews rules[1]',
      to: ['reviews-v2 100%'],
    });
    expect(where(m, { path: '/api/health' })).toEqual({
      route: 'default/reviews rules[2]',
      to: ['reviews-v1 100%'],
    });
    // PathPrefix matches whole segments: /apis is not under /api.
    expect(where(m, { path: '/apis' })).toEqual({
      route: 'default/reviews rules[0]',
      to: ['reviews-v1 100%'],
    });
    // The query string is not part of the path.
    expect(where(m, { path: '/api?x=1' }).route).toBe('default/reviews rules[1]');
  });

  test('with equal paths, a method match, then more header matches, then more query matches win', () => {
    const m = model([
      route('reviews', [
        { backendRefs: to('v1') },
        { matches: [{ queryParams: [{ name: 'v', value: '2' }] }], backendRefs: to('v2') },
        { matches: [{ headers: [{ name: 'End-User', value: 'jason' }] }], backendRefs: to('v2') },
        { matches: [{ method: 'POST' }], backendRefs: to('v1') },
      ]),
    ]);
    expect(where(m, { headers: { 'end-user': 'jason' } }).route).toBe('default/reviews rules[2]');
    expect(where(m, { headers: { 'end-user': 'jason' }, method: 'POST' }).route).toBe(
      'default/reviews rules[3]',
    );
    expect(where(m, { headers: { 'end-user': 'jason' }, path: '/?v=2' }).route).toBe(
      'default/reviews rules[2]',
    );
    expect(where(m, { path: '/?v=2' }).route).toBe('default/reviews rules[1]');
    expect(where(m, {}).route).toBe('default/reviews rules[0]');
    // Header values are case-sensitive, names are not.
    expect(where(m, { headers: { 'END-USER': 'Jason' } }).route).toBe('default/reviews rules[0]');
  });

  test('a RegularExpression header match is RE2 on the whole value', () => {
    const m = model([
      route('reviews', [
        { backendRefs: to('v1') },
        {
          matches: [{ headers: [{ type: 'RegularExpression', name: 'end-user', value: 'ja.*n' }] }],
          backendRefs: to('v2'),
        },
      ]),
    ]);
    expect(where(m, { headers: { 'end-user': 'jason' } }).route).toBe('default/reviews rules[1]');
    expect(where(m, { headers: { 'end-user': 'jasonx' } }).route).toBe('default/reviews rules[0]');
  });

  test('a tie goes to the older route, then to namespace/name', () => {
    const jason = { matches: [{ headers: [{ name: 'end-user', value: 'jason' }] }] };
    const a = route('a-reviews', [{ ...jason, backendRefs: to('v1') }], { created: '2026-01-02T00:00:00Z' });
    const b = route('b-reviews', [{ ...jason, backendRefs: to('v2') }], { created: '2026-01-01T00:00:00Z' });
    expect(where(model([a, b]), { headers: { 'end-user': 'jason' } }).route).toBe(
      'default/b-reviews rules[0]',
    );
    const strip = (o: KubeObject): KubeObject => ({
      ...o,
      metadata: { name: o.metadata!.name!, namespace: 'default' },
    });
    expect(where(model([strip(b), strip(a)]), { headers: { 'end-user': 'jason' } }).route).toBe(
      'default/a-reviews rules[0]',
    );
  });

  test('no rule matches: 404 with the routes named', () => {
    const m = model([
      route('reviews', [{ matches: [{ path: { type: 'Exact', value: '/x' } }], backendRefs: to('v1') }]),
    ]);
    const e = explain(m, { from: 'productpage', host: 'reviews', path: '/y' });
    expect(e.noRoute).toBe(true);
    expect(e.notes).toContain('no rule of HTTPRoute default/reviews matches: 404');
  });

  test('a GRPCRoute method match is the path /service/method', () => {
    const m = model([
      route(
        'reviews',
        [
          { backendRefs: to('v1') },
          { matches: [{ method: { service: 'reviews.Reviews' } }], backendRefs: to('v2') },
          { matches: [{ method: { service: 'reviews.Reviews', method: 'Get' } }], backendRefs: to('v1') },
        ],
        { kind: 'GRPCRoute' },
      ),
    ]);
    expect(where(m, { method: 'POST', path: '/reviews.Reviews/List' }).route).toBe(
      'default/reviews rules[1]',
    );
    expect(where(m, { method: 'POST', path: '/reviews.Reviews/Get' }).route).toBe('default/reviews rules[2]');
    expect(where(m, { method: 'POST', path: '/other.Svc/Get' }).route).toBe('default/reviews rules[0]');
  });
});

describe('explain through HTTPRoute backends and filters', () => {
  test('weighted backendRefs share the traffic; an unset weight is 1, a 0 weight gets nothing', () => {
    expect(where(model([route('reviews', [{ backendRefs: to(['v1', 90], ['v2', 10]) }])]), {}).to).toEqual([
      'reviews-v1 90%',
      'reviews-v2 10%',
    ]);
    expect(where(model([route('reviews', [{ backendRefs: to('v1', 'v2') }])]), {}).to).toEqual([
      'reviews-v1 50%',
      'reviews-v2 50%',
    ]);
    expect(where(model([route('reviews', [{ backendRefs: to('v1', ['v2', 0]) }])]), {}).to).toEqual([
      'reviews-v1 100%',
      'reviews-v2 0%',
    ]);
  });

  test('header modifiers, a URL rewrite, a mirror and the request timeout are reported', () => {
    const m = model([
      route('reviews', [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v1' } }],
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { set: [{ name: 'X-Env', value: 'a' }], remove: ['Cookie'] },
            },
            {
              type: 'ResponseHeaderModifier',
              responseHeaderModifier: { add: [{ name: 'X-Served', value: 'b' }] },
            },
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/api' } },
            },
            {
              type: 'RequestMirror',
              requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, percent: 25 },
            },
          ],
          backendRefs: to('v1'),
          timeouts: { request: '3s' },
        },
      ]),
    ]);
    const e = explain(m, { from: 'productpage', host: 'reviews', path: '/v1/reviews/7' });
    expect(e.rewrites).toStrictEqual({
      requestHeaders: { set: { 'x-env': 'a' }, remove: ['cookie'] },
      responseHeaders: { add: { 'x-served': 'b' } },
      path: '/api/reviews/7',
    });
    expect(e.mirror).toStrictEqual({ host: 'reviews-v2.default.svc.cluster.local', percentage: 25 });
    expect(e.timeout).toBe('3s');
    expect(formatExplanation(e)).toContain('  rewrite:         path /api/reviews/7');
  });

  test('the callee’s policies see the rewritten path', () => {
    const m = model([
      route('reviews', [
        {
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/admin' } },
            },
          ],
          backendRefs: to('v1'),
        },
      ]),
      ap('no-admin', {
        selector: { matchLabels: { app: 'reviews' } },
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/admin'] } }] }],
      }),
    ]);
    const e = explain(m, { from: 'productpage', host: 'reviews', path: '/public' });
    expect(e.authorization).toMatchObject({ decision: 'DENY', policy: 'default/no-admin' });
  });

  test('a RequestRedirect is answered by the proxy (302 unless statusCode says otherwise)', () => {
    const m = model([
      route('reviews', [
        {
          filters: [
            { type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'example.com' } },
          ],
        },
      ]),
    ]);
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.redirect).toStrictEqual({ redirectCode: 302, scheme: 'https', hostname: 'example.com' });
    expect(e.destinations).toEqual([]);
  });

  test('a rule without backendRefs or redirect answers 500', () => {
    const m = model([
      route('reviews', [
        { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['x'] } }] },
      ]),
    ]);
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.directResponse).toBe(500);
  });
});

describe('explain through parentRefs', () => {
  test('a Service parent is applied by the caller’s sidecar; a client without one is not routed', () => {
    const m = model([route('reviews', [{ backendRefs: to('v2') }])]);
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.gatewayApiRoute).toStrictEqual({
      kind: 'HTTPRoute',
      name: 'default/reviews',
      where: 'HTTPRoute/default/reviews',
      parent: 'Service default/reviews',
      appliedBy: 'the sidecar of Deployment default/productpage-v1',
    });
    const outside = explain(m, { from: 'outside', host: 'reviews.default.svc.cluster.local' });
    expect(outside.gatewayApiRoute).toBeUndefined();
    expect(outside.destinations.map((d) => d.workloads)).toEqual([['reviews-v1', 'reviews-v2']]);
  });

  test('a Gateway parent of class istio routes from the ingress, as the Gateway’s own principal', () => {
    const m = model([
      {
        apiVersion: GW,
        kind: 'Gateway',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          gatewayClassName: 'istio',
          listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: '*.example.com' }],
        },
      },
      route(
        'web',
        [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/reviews' } }],
            backendRefs: [{ name: 'reviews', port: 9080 }],
          },
        ],
        { parent: { name: 'web' } },
      ),
      ap('reviews-from-web', {
        selector: { matchLabels: { app: 'reviews' } },
        rules: [{ from: [{ source: { principals: [principal('web-istio')] } }] }],
      }),
    ]);
    const e = explain(m, { from: 'ingress', host: 'shop.example.com', port: 80, path: '/reviews/1' });
    expect(e.gateway).toBe('default/web');
    expect(e.gatewayApiRoute?.parent).toBe('Gateway default/web');
    expect(e.caller.principal).toBe(principal('web-istio'));
    expect(e.authorization).toMatchObject({ decision: 'ALLOW', policy: 'default/reviews-from-web' });
    // Another host: no listener admits it, so Istio's own Gateways are looked at (none here).
    expect(explain(m, { from: 'ingress', host: 'other.org', port: 80 }).noRoute).toBe(true);
    // A path no rule matches.
    expect(explain(m, { from: 'ingress', host: 'shop.example.com', port: 80, path: '/' }).noRoute).toBe(true);
  });
});

/** An ambient namespace; with a waypoint named `waypoint` when asked. */
function ambient(waypoint: boolean): KubeObject[] {
  const base = baseMesh().filter((o) => o.kind !== 'Namespace');
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'default',
        labels: {
          'istio.io/dataplane-mode': 'ambient',
          ...(waypoint ? { 'istio.io/use-waypoint': 'waypoint' } : {}),
        },
      },
    },
    ...base,
    ...(waypoint
      ? [
          {
            apiVersion: GW,
            kind: 'Gateway',
            metadata: {
              name: 'waypoint',
              namespace: 'default',
              labels: { 'istio.io/waypoint-for': 'service' },
            },
            spec: {
              gatewayClassName: 'istio-waypoint',
              listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
            },
          },
        ]
      : []),
  ];
}

const l4 = ap('reviews-l4', {
  selector: { matchLabels: { app: 'reviews' } },
  rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }],
});
const l7Selector = ap('reviews-l7', {
  selector: { matchLabels: { app: 'reviews' } },
  rules: [
    {
      from: [{ source: { principals: [principal('bookinfo-productpage')] } }],
      to: [{ operation: { methods: ['GET'] } }],
    },
  ],
});
const l7Target = ap('reviews-l7', {
  targetRefs: [{ group: '', kind: 'Service', name: 'reviews' }],
  rules: [
    {
      from: [{ source: { principals: [principal('bookinfo-productpage')] } }],
      to: [{ operation: { methods: ['GET'] } }],
    },
  ],
});
const viaWaypoint = ap('reviews-via-waypoint', {
  selector: { matchLabels: { app: 'reviews' } },
  rules: [{ from: [{ source: { principals: [principal('waypoint')] } }] }],
});

function decide(objects: KubeObject[], waypoint: boolean, r: Partial<ExplainRequest> = {}) {
  const m = buildModel([...ambient(waypoint), ...objects].map((object) => ({ object })));
  const e = explain(m, { from: 'productpage', host: 'reviews', ...r });
  const d = e.destinations[0]!;
  return {
    decision: d.authorization?.decision,
    at: d.authorization?.enforcedBy,
    waypoint: d.waypoint
      ? `${d.waypoint.authorization.decision} ${d.waypoint.authorization.policy ?? ''}`.trim()
      : undefined,
    reason: d.authorization?.reason,
  };
}

describe('ambient: where each AuthorizationPolicy is enforced (Istio’s attachment table)', () => {
  test('no waypoint, selector: the callee’s ztunnel, with the caller’s identity', () => {
    expect(decide([l4], false)).toMatchObject({
      decision: 'ALLOW',
      at: 'ztunnel of reviews-v1',
      waypoint: undefined,
    });
    expect(decide([l4], false, { from: 'ratings' })).toMatchObject({
      decision: 'DENY',
      at: 'ztunnel of reviews-v1',
    });
  });

  test('no waypoint, selector with L7 fields: ztunnel drops the ALLOW rule, so the policy denies everything', () => {
    const d = decide([l7Selector], false, { method: 'GET' });
    expect(d.decision).toBe('DENY');
    expect(d.reason).toContain(
      "at ztunnel (L4) Istio drops the ALLOW rules with HTTP-only fields: default/reviews-l7 rules[0] (to[0].operation.methods) (ztunnel sees the caller's identity cluster.local/ns/default/sa/bookinfo-productpage)",
    );
  });

  test('waypoint, selector: ztunnel sees the waypoint’s identity, so a rule for the caller no longer matches', () => {
    expect(decide([l4], true)).toMatchObject({
      decision: 'DENY',
      at: 'ztunnel of reviews-v1',
      waypoint: 'ALLOW',
    });
    expect(decide([l4, viaWaypoint], true)).toMatchObject({ decision: 'ALLOW', at: 'ztunnel of reviews-v1' });
  });

  test('waypoint, targetRefs: the waypoint decides, L7 included, with the caller’s identity', () => {
    expect(decide([l7Target], true, { method: 'GET' })).toMatchObject({
      decision: 'ALLOW',
      waypoint: 'ALLOW default/reviews-l7',
    });
    expect(decide([l7Target], true, { method: 'DELETE' })).toMatchObject({
      decision: 'DENY',
      at: 'waypoint default/waypoint',
      waypoint: 'DENY default/reviews-l7',
    });
    expect(decide([l7Target], true, { from: 'ratings' })).toMatchObject({
      decision: 'DENY',
      at: 'waypoint default/waypoint',
    });
  });

  test('targetRefs without a waypoint on the path: not enforced, and explain says so', () => {
    const d = decide([l7Target], false, { method: 'DELETE' });
    expect(d.decision).toBe('ALLOW');
    expect(d.reason).toContain(
      'no waypoint on this path, so default/reviews-l7 (targetRefs) is not enforced',
    );
  });

  test('a client outside the mesh does not pass the waypoint: only ztunnel’s policies apply', () => {
    const d = decide([l7Target, viaWaypoint], true, {
      from: 'outside',
      host: 'reviews.default.svc.cluster.local',
    });
    expect(d).toMatchObject({ decision: 'DENY', at: 'ztunnel of reviews-v1', waypoint: undefined });
  });

  test('an ambient caller is routed by HTTPRoutes only through a waypoint', () => {
    const objects = [...versionServices(), route('reviews', [{ backendRefs: to('v2') }])];
    const withWp = buildModel([...ambient(true), ...objects].map((object) => ({ object })));
    expect(explain(withWp, { from: 'productpage', host: 'reviews' }).gatewayApiRoute?.appliedBy).toBe(
      'waypoint default/waypoint',
    );
    const without = buildModel([...ambient(false), ...objects].map((object) => ({ object })));
    const e = explain(without, { from: 'productpage', host: 'reviews' });
    expect(e.gatewayApiRoute).toBeUndefined();
    expect(e.notes[0]).toContain(
      'is captured by ztunnel, which is L4, and reviews.default.svc.cluster.local has no waypoint',
    );
  });
});

describe('a Service label overrides the namespace’s waypoint', () => {
  test('istio.io/use-waypoint: none on the Service skips the namespace waypoint', () => {
    const svc = service('reviews');
    const optedOut: KubeObject = {
      ...svc,
      metadata: { ...svc.metadata!, labels: { app: 'reviews', 'istio.io/use-waypoint': 'none' } },
    };
    const objects = ambient(true).filter((o) => !(o.kind === 'Service' && o.metadata?.name === 'reviews'));
    const m = buildModel([...objects, optedOut, l7Target].map((object) => ({ object })));
    const d = explain(m, { from: 'productpage', host: 'reviews', method: 'DELETE' }).destinations[0]!;
    expect(d.waypoint).toBeUndefined();
    expect(d.authorization?.decision).toBe('ALLOW');
  });
});

describe('Bookinfo gives the same routing and authorization answers in the four modes', () => {
  const modes = [
    { dataPlane: 'sidecar', trafficApi: 'istio' },
    { dataPlane: 'sidecar', trafficApi: 'gateway-api' },
    { dataPlane: 'ambient', trafficApi: 'istio' },
    { dataPlane: 'ambient', trafficApi: 'gateway-api' },
  ] as const;
  function build(mode: (typeof modes)[number]) {
    const b = bookinfo(Testing.app(), 'bookinfo', { mode });
    b.reviews.addRoute({
      name: 'jason',
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      to: [{ subset: 'v2' }],
    });
    b.reviews.addRoute({
      name: 'primary',
      to: [
        { subset: 'v1', weight: 80 },
        { subset: 'v3', weight: 20 },
      ],
    });
    new ZeroTrustPolicy(b.mesh, 'zero-trust');
    b.productpage.calls(b.reviews, { methods: ['GET'] });
    b.productpage.calls(b.details, { methods: ['GET'] });
    b.reviews.calls(b.ratings);
    return b.mesh;
  }
  const requests: ExplainRequest[] = [
    { from: 'productpage', host: 'reviews', headers: { 'end-user': 'jason' } },
    { from: 'productpage', host: 'reviews' },
    { from: 'productpage', host: 'reviews', method: 'POST' },
    { from: 'productpage', host: 'details' },
    { from: 'productpage', host: 'ratings' },
    { from: 'reviews', host: 'ratings' },
    { from: 'ratings', host: 'reviews' },
    { from: 'details', host: 'productpage' },
  ];
  const answers = (mesh: ReturnType<typeof build>) =>
    requests.map((r) => {
      const e = mesh.explain(r);
      return {
        request: `${r.from} → ${r.host} ${r.method ?? 'GET'}${r.headers ? ' jason' : ''}`,
        to: e.destinations.map((d) => `${d.workloads.join(',')} ${Math.round(d.probability * 100)}%`).sort(),
        decisions: [...new Set(e.destinations.map((d) => d.authorization?.decision))],
        mtls: [...new Set(e.destinations.map((d) => d.tls?.ok))],
      };
    });
  const reference = answers(build(modes[0]));

  test('the reference answers (sidecar, Istio API)', () => {
    expect(reference.map((a) => `${a.request}: ${a.to.join(' + ')} ${a.decisions.join()}`)).toEqual([
      'productpage → reviews GET jason: reviews-v2 100% ALLOW',
      'productpage → reviews GET: reviews-v1 80% + reviews-v3 20% ALLOW',
      'productpage → reviews POST: reviews-v1 80% + reviews-v3 20% DENY',
      'productpage → details GET: details-v1 100% ALLOW',
      'productpage → ratings GET: ratings-v1 100% DENY',
      'reviews → ratings GET: ratings-v1 100% ALLOW',
      'ratings → reviews GET: reviews-v1 80% + reviews-v3 20% DENY',
      'details → productpage GET: productpage-v1 100% DENY',
    ]);
  });

  test.each(modes.slice(1).map((m) => [`${m.dataPlane} + ${m.trafficApi}`, m] as const))(
    '%s answers as the reference',
    (_, mode) => {
      expect(answers(build(mode))).toEqual(reference);
    },
  );
});

describe('reachability and graph in ambient and Gateway API meshes', () => {
  const call: DeclaredCall = {
    from: { name: 'productpage', namespace: 'default', principal: principal('bookinfo-productpage') },
    to: { name: 'reviews', namespace: 'default' },
    methods: ['GET'],
  };
  const cell = (objects: KubeObject[], waypoint: boolean) => {
    const m = buildModel(
      [...ambient(waypoint), ...objects].map((object) => ({ object })),
      { calls: [call] },
    );
    const r = reachability(m);
    const c = r.cells.find((x) => x.from.name === 'productpage' && x.to === 'default/reviews')!;
    return { access: c.access, findings: c.findings, denied: r.denied.map((d) => d.result.reason) };
  };

  test('a selector L4 policy for the caller holds without a waypoint, and stops the call behind one', () => {
    expect(cell([l4], false)).toMatchObject({ access: 'allow', findings: [] });
    const behind = cell([l4], true);
    expect(behind).toMatchObject({ access: 'deny', findings: ['MESH506'] });
    expect(behind.denied[0]).toBe(
      "no rule of the ALLOW policies (default/reviews-l4) matches (ztunnel sees the waypoint's identity cluster.local/ns/default/sa/waypoint)",
    );
    // Admitting the waypoint at ztunnel and the caller at the waypoint is how the call gets through.
    expect(cell([l7Target, viaWaypoint], true)).toMatchObject({ access: 'partial', findings: [] });
  });

  test('a selector-based L7 policy in ambient is enforced by ztunnel as DENY: the declared call is MESH506', () => {
    const r = cell([l7Selector], false);
    expect(r).toMatchObject({ access: 'deny', findings: ['MESH506'] });
    expect(r.denied[0]).toContain('Istio drops the ALLOW rules with HTTP-only fields');
  });

  test('Bookinfo zero trust: the same matrix in the four modes, the ingress as the Gateway API Gateway’s proxy', () => {
    const matrix = (mode: { dataPlane: 'sidecar' | 'ambient'; trafficApi: 'istio' | 'gateway-api' }) => {
      const b = buildScenario(Testing.app(), 'zero-trust-call-graph', { mode });
      const r = reachability(b.mesh.model());
      return r.cells.map(
        (c) =>
          `${c.from.ingress ? 'ingress' : c.from.name} → ${c.to}: ${c.access === 'partial' ? c.allowed.join(' ') : c.access}${c.findings.map((f) => ` !${f}`).join('')}`,
      );
    };
    const reference = matrix({ dataPlane: 'sidecar', trafficApi: 'istio' });
    expect(reference.filter((c) => !c.endsWith(': deny'))).toEqual([
      'ingress → default/productpage: allow',
      'productpage → default/details: GET',
      'productpage → default/reviews: GET',
      'reviews → default/ratings: GET',
    ]);
    for (const mode of [
      { dataPlane: 'sidecar', trafficApi: 'gateway-api' },
      { dataPlane: 'ambient', trafficApi: 'istio' },
      { dataPlane: 'ambient', trafficApi: 'gateway-api' },
    ] as const)
      expect([mode, matrix(mode)]).toEqual([mode, reference]);
    const gwApi = buildScenario(Testing.app(), 'zero-trust-call-graph', {
      mode: { dataPlane: 'ambient', trafficApi: 'gateway-api' },
    });
    expect(
      reachability(gwApi.mesh.model())
        .callers.filter((c) => c.ingress)
        .map((c) => c.principal),
    ).toEqual([principal('bookinfo-gateway-istio')]);
  });
});
