/**
 * The request simulator against Istio's semantics, on the Bookinfo scenarios (through the Jest
 * matchers) and on hand-written objects for the authorization and mTLS rules.
 */
import { Testing } from 'cdk8s';
import { explain, ExplainError } from '../../../mesh/explain/index.js';
import { meshMatchers, to } from '../../../mesh/explain/matchers.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { buildScenario, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';
import { ap, baseMesh, pa, principal, dr, vs } from '../validator/fixtures.js';

expect.extend(meshMatchers);
const scenario = (name: ScenarioName) => buildScenario(Testing.app(), name).mesh;
const jason = { 'end-user': 'jason' };
const jason_ = (user: string) => ({ 'x-user': user });
const model = (...extra: KubeObject[]) => buildModel([...baseMesh(), ...extra].map((object) => ({ object })));

describe('Bookinfo routing (upstream samples/bookinfo/networking)', () => {
  test('without a VirtualService, a request goes to the Service (every version)', () => {
    const e = scenario('platform').explain({ from: 'productpage', host: 'reviews' });
    expect(e.virtualService).toBeUndefined();
    expect(e.destinations).toEqual([
      expect.objectContaining({
        host: 'reviews.default.svc.cluster.local',
        probability: 1,
        workloads: ['reviews-v1', 'reviews-v2', 'reviews-v3'],
      }),
    ]);
  });

  test('all-v1 sends everything to v1', () => {
    const mesh = scenario('all-v1');
    for (const host of ['productpage', 'reviews', 'ratings', 'details'])
      expect(mesh).toRoute({ from: 'productpage', host }, to(host, 'v1'));
  });

  test('reviews-jason-v2: jason to v2, everyone else to v1, with the rule that matched', () => {
    const mesh = scenario('reviews-jason-v2');
    expect(mesh).toRoute({ from: 'productpage', host: 'reviews', headers: jason }, to('reviews', 'v2'));
    expect(mesh).toRoute(
      { from: 'productpage', host: 'reviews', headers: { 'end-user': 'mike' } },
      to('reviews', 'v1'),
    );
    expect(mesh).toRoute({ from: 'productpage', host: 'reviews' }, to('reviews', 'v1'));
    const e = mesh.explain({ from: 'productpage', host: 'reviews', headers: jason });
    expect(e.virtualService).toBe('default/reviews');
    expect(e.route).toEqual({ index: 0, match: 0 });
    expect(e.destinations[0]).toMatchObject({
      subset: 'v2',
      labels: { version: 'v2' },
      workloads: ['reviews-v2'],
      destinationRule: 'default/reviews',
    });
  });

  test.each([
    ['reviews-50-v3', [to('reviews', 'v1', 50), to('reviews', 'v3', 50)]],
    ['reviews-80-20', [to('reviews', 'v1', 80), to('reviews', 'v2', 20)]],
    ['reviews-90-10', [to('reviews', 'v1', 90), to('reviews', 'v2', 10)]],
    ['reviews-v2-v3', [to('reviews', 'v2', 50), to('reviews', 'v3', 50)]],
  ] as const)('%s splits by weight', (name, dests) => {
    expect(scenario(name)).toRoute({ from: 'productpage', host: 'reviews' }, ...dests);
    expect(scenario(name)).not.toRoute({ from: 'productpage', host: 'reviews' }, to('reviews', 'v1', 100));
  });

  test('jason-delay: 7 s delay on ratings for jason only', () => {
    const mesh = scenario('jason-delay');
    expect(mesh).toInjectFault({ from: 'reviews', host: 'ratings', headers: jason }, { delay: '7s' });
    expect(mesh).not.toInjectFault({ from: 'reviews', host: 'ratings' }, { delay: '7s' });
    expect(mesh.explain({ from: 'reviews', host: 'ratings', headers: jason }).fault).toEqual({
      delay: { fixedDelay: '7s', percentage: 100 },
    });
  });

  test('jason-abort: HTTP 500 from ratings for jason; details-abort: 555 for everyone', () => {
    expect(scenario('jason-abort')).toInjectFault(
      { from: 'reviews', host: 'ratings', headers: jason },
      { abort: 500 },
    );
    expect(scenario('details-abort')).toInjectFault({ from: 'productpage', host: 'details' }, { abort: 555 });
  });

  test('ratings-mysql routes to a subset with no workload: the destination cannot serve (503)', () => {
    const e = scenario('ratings-mysql').explain({ from: 'reviews', host: 'ratings' });
    expect(e.destinations[0]).toMatchObject({
      subset: 'v2-mysql',
      workloads: [],
      problem: 'no workload behind ratings.default.svc.cluster.local subset v2-mysql (503 UH)',
    });
    expect(scenario('ratings-mysql')).not.toRoute(
      { from: 'reviews', host: 'ratings' },
      to('ratings', 'v2-mysql'),
    );
  });

  test('resilience: timeout, retries and 10% mirroring on reviews', () => {
    const e = scenario('resilience').explain({ from: 'productpage', host: 'reviews' });
    expect(e).toMatchObject({
      timeout: '3s',
      retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx,connect-failure' },
      mirror: { host: 'reviews.default.svc.cluster.local', subset: 'v3', percentage: 10 },
    });
  });

  test('from the ingress gateway: the Gateway, its VirtualService and the path rules', () => {
    const mesh = scenario('gateway');
    const e = mesh.explain({
      from: 'ingress',
      host: 'bookinfo.example.com',
      port: 8080,
      path: '/api/v1/products/1',
    });
    expect(e).toMatchObject({
      gateway: 'default/bookinfo-gateway',
      virtualService: 'default/bookinfo',
      route: { index: 0, match: 4 },
    });
    expect(mesh).toRoute(
      { from: 'ingress', host: 'anything', port: 8080, path: '/productpage' },
      to('productpage'),
    );
    const miss = mesh.explain({ from: 'ingress', host: 'x', port: 8080, path: '/admin' });
    expect(miss.noRoute).toBe(true);
    expect(mesh.explain({ from: 'ingress', host: 'x', port: 9999 }).notes[0]).toBe(
      'no Gateway selecting the ingress gateway has a server for x:9999',
    );
  });

  test('fails if the caller is unknown, naming the workloads it knows', () => {
    expect(() => scenario('platform').explain({ from: 'nobody', host: 'reviews' })).toThrow(ExplainError);
    expect(() => scenario('platform').explain({ from: 'nobody', host: 'reviews' })).toThrow(
      "explain: no workload 'nobody' in the mesh; use a workload or app name (productpage, details, reviews, ratings)",
    );
  });
});

describe('Bookinfo authorization (the reference zero-trust walk-through)', () => {
  test('zero-trust: productpage open to GET, details and reviews only to productpage, everything else denied by allow-nothing', () => {
    const mesh = scenario('zero-trust');
    expect(mesh).toAllow({ from: 'outside', host: 'productpage.default.svc.cluster.local' });
    expect(mesh).toDeny(
      { from: 'outside', host: 'productpage.default.svc.cluster.local', method: 'POST' },
      'default/allow-nothing',
    );
    expect(mesh).toAllow({ from: 'productpage', host: 'reviews' });
    expect(mesh).toAllow({ from: 'productpage', host: 'details' });
    expect(mesh).toDeny({ from: 'productpage', host: 'ratings' }, 'default/allow-nothing');
    expect(mesh).toDeny({ from: 'details', host: 'reviews' });
    expect(mesh.explain({ from: 'reviews', host: 'ratings' })).toBeDenied('default/allow-nothing');
    expect(mesh.explain({ from: 'productpage', host: 'reviews' })).toBeAllowed();
    expect(mesh.explain({ from: 'productpage', host: 'reviews' }).authorization).toEqual({
      decision: 'ALLOW',
      policy: 'default/reviews-viewer',
      rule: 0,
      reason: 'ALLOW policy default/reviews-viewer rule 0 matches',
    });
  });

  test('zero-trust-call-graph: the ingress gateway reaches productpage; reviews reaches ratings', () => {
    const mesh = scenario('zero-trust-call-graph');
    expect(mesh).toAllow({ from: 'ingress', host: 'bookinfo.example.com', port: 8080, path: '/productpage' });
    expect(mesh).toAllow({ from: 'reviews', host: 'ratings' });
    expect(mesh).toDeny({ from: 'ratings', host: 'reviews' });
  });

  test('mTLS on the hop: STRICT namespace, auto mTLS, plain text from outside fails', () => {
    const mesh = scenario('mtls-strict');
    expect(mesh.explain({ from: 'productpage', host: 'reviews' }).tls).toEqual({
      client: 'ISTIO_MUTUAL',
      clientDecidedBy: 'auto mTLS',
      server: 'STRICT',
      serverDecidedBy: 'PeerAuthentication default/default (namespace)',
      mutual: true,
      ok: true,
    });
    expect(mesh.explain({ from: 'outside', host: 'reviews.default.svc.cluster.local' }).tls).toMatchObject({
      client: 'DISABLE',
      server: 'STRICT',
      ok: false,
    });
  });

  test('port-level exception: the nginx container port is plain text, decided by the workload policy', () => {
    const e = scenario('ingress-port-mtls-exception').explain({
      from: 'ingress',
      host: 'www.example.com',
      port: 80,
    });
    expect(e.tls).toMatchObject({
      client: 'DISABLE',
      server: 'DISABLE',
      serverDecidedBy: 'PeerAuthentication default/example-workload-policy (port 8080)',
      ok: true,
      mutual: false,
    });
    expect(e.authorization?.decision).toBe('ALLOW');
  });
});

describe('Istio authorization semantics', () => {
  const target = { from: 'productpage', host: 'ratings' };
  const sel = { selector: { matchLabels: { app: 'ratings' } } };

  test('no ALLOW policy: allowed', () => {
    expect(model()).toAllow(target);
    expect(explain(model(), target).authorization?.reason).toBe('no ALLOW policy applies to the workload');
  });

  test('spec: {} (an ALLOW policy without rules) allows nothing', () => {
    expect(model(ap('allow-nothing', {}))).toDeny(target, 'default/allow-nothing');
  });

  test('DENY wins over ALLOW; CUSTOM is evaluated first', () => {
    const allow = ap('allow-all', { ...sel, rules: [{}] });
    const deny = ap('deny-pp', {
      ...sel,
      action: 'DENY',
      rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }],
    });
    expect(model(allow, deny)).toDeny(target, 'default/deny-pp');
    const custom = ap('ext', { ...sel, action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] });
    expect(explain(model(allow, deny, custom), target).authorization).toMatchObject({
      decision: 'CUSTOM',
      policy: 'default/ext',
    });
  });

  test('a root-namespace policy applies mesh-wide; another namespace’s does not', () => {
    const root = ap('deny-all', { action: 'DENY', rules: [{}] }, { namespace: 'istio-system' });
    expect(model(root)).toDeny(target, 'istio-system/deny-all');
    const other = ap('deny-all', { action: 'DENY', rules: [{}] }, { namespace: 'other' });
    expect(model(other)).toAllow(target);
  });

  test('selector scope: a policy for another workload does not apply', () => {
    expect(model(ap('p', { selector: { matchLabels: { app: 'reviews' } } }))).toAllow(target);
  });

  test('principals need mTLS: with mTLS DISABLE the ALLOW-by-principal rule cannot match', () => {
    const allow = ap('ratings-viewer', {
      ...sel,
      rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }],
    });
    expect(model(allow)).toAllow(target);
    const e = explain(model(allow, pa('default', { mtls: { mode: 'DISABLE' } })), target);
    expect(e.authorization).toMatchObject({
      decision: 'DENY',
      reason:
        'no rule of the ALLOW policies (default/ratings-viewer) matches (the hop is not mTLS, so the caller has no principal)',
    });
  });

  test('operations: methods, path prefixes, notPaths, and when on headers', () => {
    const allow = ap('p', {
      ...sel,
      rules: [
        {
          to: [{ operation: { methods: ['GET'], paths: ['/ratings/*'], notPaths: ['/ratings/admin'] } }],
          when: [{ key: 'request.headers[end-user]', values: ['jason'] }],
        },
      ],
    });
    const m = model(allow);
    expect(m).toAllow({ ...target, path: '/ratings/0', headers: jason });
    expect(m).toDeny({ ...target, path: '/ratings/admin', headers: jason });
    expect(m).toDeny({ ...target, path: '/ratings/0' });
    expect(m).toDeny({ ...target, path: '/ratings/0', method: 'POST', headers: jason });
  });

  test('DestinationRule TLS decides the client side; a DISABLE to a STRICT server fails the hop', () => {
    const m = buildModel(
      [
        ...baseMesh().filter((o) => !(o.kind === 'DestinationRule' && o.metadata?.name === 'ratings')),
        pa('default', { mtls: { mode: 'STRICT' } }),
        dr('ratings', { host: 'ratings', trafficPolicy: { tls: { mode: 'DISABLE' } } }),
      ].map((object) => ({ object })),
    );
    expect(explain(m, target).tls).toMatchObject({
      client: 'DISABLE',
      clientDecidedBy: 'DestinationRule default/ratings',
      server: 'STRICT',
      ok: false,
    });
  });

  test('workload PeerAuthentication beats namespace, which beats mesh', () => {
    const m = model(
      pa('default', { mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }),
      pa('default', { mtls: { mode: 'DISABLE' } }),
      pa('ratings', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'PERMISSIVE' } }),
    );
    expect(explain(m, target).tls?.serverDecidedBy).toBe('PeerAuthentication default/ratings (workload)');
    expect(explain(m, { from: 'productpage', host: 'reviews' }).tls?.serverDecidedBy).toBe(
      'PeerAuthentication default/default (namespace)',
    );
  });

  test('VirtualService matches: sourceLabels, queryParams, regex and withoutHeaders', () => {
    const m = model(
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          {
            match: [{ sourceLabels: { app: 'ratings' } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          {
            match: [{ queryParams: { beta: { exact: '1' } } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          {
            match: [{ uri: { regex: '/r/[0-9]+' }, withoutHeaders: { 'x-old': {} } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        ],
      }),
    );
    expect(m).toRoute({ from: 'ratings', host: 'reviews' }, to('reviews', 'v2'));
    expect(m).toRoute({ from: 'productpage', host: 'reviews', path: '/?beta=1' }, to('reviews', 'v2'));
    expect(m).toRoute({ from: 'productpage', host: 'reviews', path: '/r/12' }, to('reviews', 'v2'));
    expect(m).toRoute(
      { from: 'productpage', host: 'reviews', path: '/r/12', headers: { 'x-old': '1' } },
      to('reviews', 'v1'),
    );
    expect(m).toRoute({ from: 'productpage', host: 'reviews', path: '/r/x' }, to('reviews', 'v1'));
  });

  /** reviews: requests whose `x-user` header matches `regex` go to v2, the rest to v1. */
  const byHeaderRegex = (regex: string, header = 'x-user') =>
    model(
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          {
            match: [{ headers: { [header]: { regex } } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        ],
      }),
    );

  test('regexes run on RE2, as Envoy runs them: linear time on a pattern that backtracks for ever in JavaScript', () => {
    // JavaScript's engine took 7 s for 28 a's and never returned for 40; RE2 is linear in the input.
    const m = byHeaderRegex('(a+)+$');
    const started = performance.now();
    for (const n of [28, 40, 10_000])
      expect(m).toRoute(
        { from: 'productpage', host: 'reviews', headers: { 'x-user': `${'a'.repeat(n)}!` } },
        to('reviews', 'v1'),
      );
    expect(m).toRoute(
      { from: 'productpage', host: 'reviews', headers: { 'x-user': 'a'.repeat(40) } },
      to('reviews', 'v2'),
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("regexes speak Envoy's dialect: (?i) flags and POSIX classes match; the whole value must match", () => {
    expect(byHeaderRegex('(?i)JASON')).toRoute(
      { from: 'productpage', host: 'reviews', headers: jason_('jason') },
      to('reviews', 'v2'),
    );
    expect(byHeaderRegex('[[:alpha:]]+')).toRoute(
      { from: 'productpage', host: 'reviews', headers: jason_('jason') },
      to('reviews', 'v2'),
    );
    expect(byHeaderRegex('[[:alpha:]]+')).toRoute(
      { from: 'productpage', host: 'reviews', headers: jason_('jason7') },
      to('reviews', 'v1'),
    );
    expect(byHeaderRegex('jas')).toRoute(
      { from: 'productpage', host: 'reviews', headers: jason_('jason') },
      to('reviews', 'v1'),
    );
  });

  test('a VirtualService with a regex RE2 cannot compile is refused, as Istio refuses it: explain routes without it', () => {
    const m = byHeaderRegex('(a)\\1');
    expect(m.invalid.map((o) => [o.name, o.problems])).toEqual([
      [
        'reviews',
        [
          'spec.http[0].match[0].headers["x-user"].regex: error parsing regexp: invalid escape sequence: `\\1`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)',
        ],
      ],
    ]);
    expect(m.virtualServices.map((v) => v.name)).toEqual([]);
  });

  test('a header named constructor or __proto__ is a header like any other', () => {
    for (const header of ['constructor', '__proto__', 'hasOwnProperty']) {
      const m = byHeaderRegex('.+', header);
      expect(m).toRoute({ from: 'productpage', host: 'reviews' }, to('reviews', 'v1'));
      expect(m).toRoute(
        {
          from: 'productpage',
          host: 'reviews',
          headers: JSON.parse(`{"${header}": "x"}`) as Record<string, string>,
        },
        to('reviews', 'v2'),
      );
    }
  });
});

describe('matcher messages', () => {
  test('fails if the route differs, saying what was expected and where it went', () => {
    let message = '';
    try {
      expect(scenario('reviews-jason-v2')).toRoute(
        { from: 'productpage', host: 'reviews', headers: jason },
        to('reviews', 'v1'),
      );
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      'expected GET reviews/ [end-user: jason] from productpage to route to reviews/v1: reviews subset v1: expected 100% of the traffic, got 0%',
    );
    expect(message).toContain('→ 100% reviews.default.svc.cluster.local subset v2');
  });

  test('fails if a denied request is expected allowed, with the deciding policy', () => {
    let message = '';
    try {
      expect(scenario('zero-trust')).toAllow({ from: 'details', host: 'reviews' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      'expected GET reviews/ from details to be allowed; decision: DENY (no rule of the ALLOW policies (default/allow-nothing, default/reviews-viewer) matches)',
    );
  });
});
