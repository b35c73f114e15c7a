/**
 * The reachability matrix: computed from the policies and the mTLS of each hop, compared with the
 * declared call graph through the validator's MESH506/MESH507 (a difference in the table is
 * always a finding); and the SVG graph drawn from the same model.
 */
import { Testing } from 'cdk8s';
import { readFileSync } from 'node:fs';
import { meshGraphSvg } from '../../../mesh/explain/graph.js';
import { formatReachability, reachability, type Reachability } from '../../../mesh/explain/reachability.js';
import { buildModel, type MeshModel } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { buildScenario, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';
import { boutique } from '../../../examples/boutique/boutique.js';
import { bookinfoGraph, GRAPH_FILE } from '../../../scripts/bookinfo-graph.js';

const model = (name: ScenarioName) => buildScenario(Testing.app(), name).mesh.model();
const cell = (r: Reachability, from: string, to: string) =>
  r.cells.find((c) => c.from.name === from && c.to === `default/${to}`)!;
const codes = (m: MeshModel) =>
  validate(m)
    .filter((f) => f.code === 'MESH506' || f.code === 'MESH507')
    .map((f) => f.code);

describe('reachability', () => {
  test('zero-trust-call-graph: exactly the declared calls, GET only, over mTLS; no difference', () => {
    const r = reachability(model('zero-trust-call-graph'));
    expect(r.callers.map((c) => c.name)).toEqual([
      'istio-ingressgateway',
      'details',
      'productpage',
      'ratings',
      'reviews',
    ]);
    expect(r.callees).toEqual([
      'default/details',
      'default/productpage',
      'default/ratings',
      'default/reviews',
    ]);
    expect(cell(r, 'productpage', 'reviews')).toMatchObject({
      access: 'partial',
      allowed: ['GET'],
      declared: true,
      findings: [],
      policies: expect.arrayContaining(['default/reviews-viewer']),
    });
    expect(cell(r, 'productpage', 'reviews').tls?.mutual).toBe(true);
    expect(cell(r, 'istio-ingressgateway', 'productpage')).toMatchObject({ access: 'allow', declared: true });
    expect(cell(r, 'reviews', 'ratings')).toMatchObject({ access: 'partial', declared: true });
    expect(cell(r, 'productpage', 'ratings')).toMatchObject({ access: 'deny', declared: false });
    expect(cell(r, 'ratings', 'reviews')).toMatchObject({ access: 'deny', declared: false });
    expect(r.denied).toEqual([]);
    expect(r.undeclared).toEqual([]);
  });

  test('a rule open to anyone is shown, but is not a difference (it names no caller)', () => {
    const r = reachability(model('zero-trust'));
    expect(cell(r, 'details', 'productpage')).toMatchObject({
      access: 'partial',
      allowed: ['GET'],
      declared: false,
      findings: [],
    });
  });

  test('differences are the validator findings MESH506 and MESH507, on the same cells', () => {
    // ZeroTrustPolicy allows every declared call, so the policies and the graph agree by
    // construction; make them disagree by editing the declared graph the model carries.
    const { mesh, reviews, details } = buildScenario(Testing.app(), 'zero-trust');
    details.calls(reviews, { methods: ['GET'] });
    const m = mesh.model();
    const mutated: MeshModel = {
      ...m,
      // A declared call the policies do not allow (ratings is closed by allow-nothing) …
      calls: [
        ...(m.calls ?? []).filter((c) => c.from.name !== 'details'),
        {
          from: {
            name: 'reviews',
            namespace: 'default',
            principal: mesh.principalOf('default', 'bookinfo-reviews'),
          },
          to: { name: 'ratings', namespace: 'default' },
          methods: ['GET'],
        },
      ],
    };
    const r = reachability(mutated);
    expect(cell(r, 'reviews', 'ratings')).toMatchObject({
      access: 'deny',
      declared: true,
      findings: ['MESH506'],
    });
    // … and a principal reviews-viewer allows (details, from the call removed above) with no call.
    expect(cell(r, 'details', 'reviews')).toMatchObject({ declared: false, findings: ['MESH507'] });
    expect(codes(mutated).sort()).toEqual(['MESH506', 'MESH507']);
    const text = formatReachability(r);
    expect(text).toContain('2 difference(s) between the policies and the declared call graph:');
    expect(text).toContain(
      '  MESH506 reviews → ratings:9080 (GET /) is declared but denied on ratings-v1 port 9080: no rule of the ALLOW policies (default/allow-nothing) matches',
    );
    expect(text).toContain(
      '  MESH507 default/reviews-viewer rules[0] allows cluster.local/ns/default/sa/bookinfo-details, but no declared call from it reaches default/reviews',
    );
    expect(text).toMatch(/^reviews\s.*- \* !MESH506/m);
  });

  test('MESH506 names the Service port called and the workload port the policy denied', () => {
    // Online Boutique with two port mistakes in its policies: the frontend's rule for the load
    // generator names the Service port 80 (Istio matches the container port, 8080), and Redis's
    // rule names 6380 instead of 6379.
    const b = boutique(Testing.app(), 'boutique');
    type Ap = { kind: string; metadata: { name: string }; spec: { rules: { to?: unknown[] }[] } };
    const objects = (Testing.synth(b.mesh) as Ap[]).map((o) => {
      if (o.kind !== 'AuthorizationPolicy') return o;
      if (o.metadata.name === 'frontend-viewer')
        return {
          ...o,
          spec: {
            ...o.spec,
            rules: o.spec.rules.map((r, i) =>
              i === 1 ? { ...r, to: [{ operation: { methods: ['GET', 'POST'], ports: ['80'] } }] } : r,
            ),
          },
        };
      if (o.metadata.name === 'redis-cart-viewer')
        return {
          ...o,
          spec: {
            ...o.spec,
            rules: o.spec.rules.map((r) => ({ ...r, to: [{ operation: { ports: ['6380'] } }] })),
          },
        };
      return o;
    });
    const m = buildModel(
      objects.map((object) => ({ object: object as never })),
      { calls: b.mesh.model().calls ?? [] },
    );
    const denied = validate(m)
      .filter((f) => f.code === 'MESH506')
      .map((f) => f.message);
    expect(denied).toStrictEqual([
      'cartservice → redis-cart:6379 (TCP) is declared but denied on redis-cart-v1 port 6379: no rule of the ALLOW policies (default/allow-nothing, default/redis-cart-viewer) matches',
      'loadgenerator → frontend:80 (GET /) is declared but denied on frontend-v1 port 8080: no rule of the ALLOW policies (default/allow-nothing, default/frontend-viewer) matches',
    ]);
    // the same sentences in reachability's differences
    const text = formatReachability(reachability(m));
    for (const message of denied) expect(text).toContain(`  MESH506 ${message}`);
    // with the container port in the frontend's rule, the load generator's call is allowed again
    const fixed = buildModel(
      objects
        .map((o) =>
          o.metadata.name === 'frontend-viewer'
            ? {
                ...o,
                spec: {
                  ...o.spec,
                  rules: o.spec.rules.map((r, i) =>
                    i === 1
                      ? { ...r, to: [{ operation: { methods: ['GET', 'POST'], ports: ['8080'] } }] }
                      : r,
                  ),
                },
              }
            : o,
        )
        .map((object) => ({ object: object as never })),
      { calls: b.mesh.model().calls ?? [] },
    );
    expect(
      validate(fixed)
        .filter((f) => f.code === 'MESH506')
        .map((f) => f.message.split(' is ')[0]),
    ).toStrictEqual(['cartservice → redis-cart:6379 (TCP)']);
  });

  test('mTLS decides before the policies: a plain-text hop to a STRICT workload cannot connect', () => {
    const { mesh } = buildScenario(Testing.app(), 'mtls-strict');
    const objects = Testing.synth(mesh)
      .filter((o) => !(o.kind === 'DestinationRule' && o.metadata.name === 'ratings'))
      .map((object) => ({ object: object as never }));
    const m = buildModel([
      ...objects,
      {
        object: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name: 'plain', namespace: 'default' },
          spec: { host: 'ratings', trafficPolicy: { tls: { mode: 'DISABLE' } } },
        },
      },
    ]);
    const r = reachability(m);
    expect(r.hasCallGraph).toBe(false);
    expect(cell(r, 'productpage', 'details')).toMatchObject({ access: 'allow' });
    expect(cell(r, 'productpage', 'ratings')).toMatchObject({ access: 'no-connection', allowed: [] });
    expect(cell(r, 'productpage', 'ratings').tls).toMatchObject({
      client: 'DISABLE',
      server: 'STRICT',
      ok: false,
    });
    expect(formatReachability(r)).toContain('No declared call graph');
  });

  test('the matrix as text: callers down, callees across, declared calls starred', () => {
    const text = formatReachability(reachability(model('zero-trust-call-graph')));
    expect(text.split('\n').slice(0, 7)).toEqual([
      'caller \\ callee                 details  productpage  ratings  reviews',
      '------------------------------  -------  -----------  -------  -------',
      'istio-ingressgateway (ingress)  -        allow *      -        -',
      'details                         -        -            -        -',
      'productpage                     GET *    -            -        GET *',
      'ratings                         -        -            -        -',
      'reviews                         -        -            GET *    -',
    ]);
    expect(text).toContain('No difference between the policies and the declared call graph.');
  });
});

describe('graph', () => {
  test('draws services, versions with their route shares, calls with methods and mTLS, the ingress routes', async () => {
    const svg = await meshGraphSvg(model('zero-trust-call-graph'), { title: 'zt' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const s of ['productpage', 'reviews', 'ratings', 'details', 'ingress gateway', 'mTLS STRICT'])
      expect(svg).toContain(`>${s}</text>`);
    expect(svg).toContain('>GET · mTLS</text>');
    expect(svg).toContain('>/productpage +3 paths</text>');
    expect(svg).toContain('<tspan font-weight="bold">v2-mysql</tspan> no pods');
    const split = await meshGraphSvg(model('reviews-80-20'));
    expect(split).toContain('>80%</text>');
    expect(split).toContain('>20%</text>');
    expect(await meshGraphSvg(model('jason-delay'))).toContain('fault: delay 7s (end-user=jason)');
    // The first ELK layout of the run loads elkjs: seconds on a loaded machine, more than Jest's 5 s default.
  }, 60_000);

  test('is the same bytes for the same model, and escapes what it writes', async () => {
    expect(await meshGraphSvg(model('gateway'))).toBe(await meshGraphSvg(model('gateway')));
    expect(await meshGraphSvg(model('platform'), { title: 'a < b & "c"' })).toContain(
      'a &lt; b &amp; &quot;c&quot;',
    );
  });

  test('the picture in docs/explain.md (docs/bookinfo-graph.svg) is current: npx tsx scripts/bookinfo-graph.ts', async () => {
    expect(readFileSync(GRAPH_FILE, 'utf8')).toBe(await bookinfoGraph());
  });
});
