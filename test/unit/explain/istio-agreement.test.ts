/**
 * Where explain once disagreed with the configuration Istio's own istiod code generates (the
 * oracle of test/integration/oracle.test.ts): each case is one such disagreement, pinned.
 */
import { explain } from '../../../mesh/explain/index.js';
import { explainPath } from '../../../mesh/explain/path.js';
import { meshMatchers, to } from '../../../mesh/explain/matchers.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { baseMesh, deployment, gw, vs } from '../validator/fixtures.js';

expect.extend(meshMatchers);
const model = (...extra: KubeObject[]) => buildModel([...baseMesh(), ...extra].map((object) => ({ object })));
const toV2 = [{ destination: { host: 'reviews', subset: 'v2' } }];

describe('a fault without percentage injects nothing (Istio programs 0%)', () => {
  test('delay and abort without percentage are on 0% of requests', () => {
    const m = model(
      vs('ratings', {
        hosts: ['ratings'],
        http: [
          {
            fault: { delay: { fixedDelay: '7s' }, abort: { httpStatus: 500 } },
            route: [{ destination: { host: 'ratings' } }],
          },
        ],
      }),
    );
    expect(explain(m, { from: 'reviews', host: 'ratings' }).fault).toEqual({
      delay: { fixedDelay: '7s', percentage: 0 },
      abort: { httpStatus: 500, percentage: 0 },
    });
    expect(m).not.toInjectFault({ from: 'reviews', host: 'ratings' }, { delay: '7s' });
    // The request is delivered: neither the delay nor the abort ends it at the caller's sidecar.
    expect(explainPath(m, { from: 'reviews', host: 'ratings' }).outcome.result).toBe('delivered');
  });

  test('an explicit percentage, and the deprecated integer percent of a delay, are kept', () => {
    const m = model(
      vs('ratings', {
        hosts: ['ratings'],
        http: [
          {
            fault: {
              delay: { fixedDelay: '1s', percent: 30 },
              abort: { httpStatus: 503, percentage: { value: 12.5 } },
            },
            route: [{ destination: { host: 'ratings' } }],
          },
        ],
      }),
    );
    expect(explain(m, { from: 'reviews', host: 'ratings' }).fault).toEqual({
      delay: { fixedDelay: '1s', percentage: 30 },
      abort: { httpStatus: 503, percentage: 12.5 },
    });
  });
});

describe('a VirtualService whose every match names other sources is dropped for the caller', () => {
  const m = model(
    vs('reviews', {
      hosts: ['reviews'],
      http: [
        { match: [{ sourceLabels: { app: 'ratings' } }], route: toV2 },
        { match: [{ sourceLabels: { app: 'ratings' } }, { sourceNamespace: 'other' }], route: toV2 },
      ],
    }),
  );

  test('the caller it prunes takes the default route to every version, not a 404', () => {
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.noRoute).toBe(false);
    expect(e.virtualService).toBeUndefined();
    expect(e.destinations.map((d) => [d.subset, d.workloads])).toEqual([
      [undefined, ['reviews-v1', 'reviews-v2']],
    ]);
    expect(e.notes.join('\n')).toMatch(/Istio drops it for Deployment default\/productpage/);
  });

  test('the caller it selects gets its rule', () => {
    expect(m).toRoute({ from: 'ratings', host: 'reviews' }, to('reviews', 'v2'));
  });

  test('a VirtualService with one rule left for the caller still answers 404 when no rule matches', () => {
    const partly = model(
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          { match: [{ sourceLabels: { app: 'ratings' } }], route: toV2 },
          { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: toV2 },
        ],
      }),
    );
    expect(explain(partly, { from: 'productpage', host: 'reviews' }).noRoute).toBe(true);
    expect(partly).toRoute(
      { from: 'productpage', host: 'reviews', headers: { 'end-user': 'jason' } },
      to('reviews', 'v2'),
    );
  });

  test('a match with gateways is kept for those gateways whatever its sourceLabels (Istio’s sourceMatchHTTP)', () => {
    const m2 = model(
      vs('reviews', {
        hosts: ['reviews'],
        http: [{ match: [{ gateways: ['mesh'], sourceLabels: { app: 'ratings' } }], route: toV2 }],
      }),
    );
    expect(m2).toRoute({ from: 'productpage', host: 'reviews' }, to('reviews', 'v2'));
  });
});

describe('Gateway tls.httpsRedirect answers plain HTTP with a 301', () => {
  const m = model(
    gw('web', {
      selector: { istio: 'ingressgateway' },
      servers: [
        {
          port: { number: 80, name: 'http', protocol: 'HTTP' },
          hosts: ['shop.example.com'],
          tls: { httpsRedirect: true },
        },
        { port: { number: 8080, name: 'http-alt', protocol: 'HTTP' }, hosts: ['shop.example.com'] },
      ],
    }),
    vs('web', {
      hosts: ['shop.example.com'],
      gateways: ['web'],
      http: [{ route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }],
    }),
  );

  test('port 80 redirects before any route; no destination is reached', () => {
    const e = explain(m, { from: 'ingress', host: 'shop.example.com', port: 80 });
    expect(e.redirect).toEqual({ httpsRedirect: true, redirectCode: 301, scheme: 'https' });
    expect(e.destinations).toEqual([]);
    expect(e.gateway).toBe('default/web');
    const p = explainPath(m, { from: 'ingress', host: 'shop.example.com', port: 80 });
    expect(p.outcome).toMatchObject({ result: 'answered-by-proxy', status: 301 });
  });

  test('the same host on a server without the redirect is routed', () => {
    expect(m).toRoute({ from: 'ingress', host: 'shop.example.com', port: 8080 }, to('productpage'));
  });
});

describe('a caller without a sidecar: explain and explain --hops give one answer', () => {
  const m = buildModel(
    [
      ...baseMesh(),
      deployment('legacy', 'v1', { inject: false }),
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          { fault: { abort: { httpStatus: 500, percentage: { value: 100 } } }, timeout: '1s', route: toV2 },
        ],
      }),
    ].map((object) => ({ object })),
  );

  test('no VirtualService, subset, fault or timeout applies; every pod of the Service may answer', () => {
    const e = explain(m, { from: 'legacy', host: 'reviews' });
    expect(e.caller.sidecar).toBe(false);
    expect(e.virtualService).toBeUndefined();
    expect(e.fault).toBeUndefined();
    expect(e.timeout).toBeUndefined();
    expect(e.destinations.map((d) => [d.subset, d.workloads])).toEqual([
      [undefined, ['reviews-v1', 'reviews-v2']],
    ]);
    expect(e.tls).toMatchObject({ client: 'DISABLE', clientDecidedBy: 'caller has no sidecar' });
    expect(m).not.toInjectFault({ from: 'legacy', host: 'reviews' }, { abort: 500 });
  });

  test('the hop-by-hop path agrees: kube-proxy picks among the same pods', () => {
    const p = explainPath(m, { from: 'legacy', host: 'reviews' });
    const e = explain(m, { from: 'legacy', host: 'reviews' });
    const node = p.hops.find((h) => h.kind === 'callee-node');
    expect(node).toMatchObject({ endpointChosenBy: 'kube-proxy' });
    expect(node?.summary).toContain(`any pod of reviews (${e.destinations[0]!.workloads.join(', ')})`);
    expect(p.outcome.result).toBe('delivered');
  });

  test('a client outside the mesh is the same: no client-side routing', () => {
    expect(
      explain(m, { from: 'outside', host: 'reviews.default.svc.cluster.local' }).virtualService,
    ).toBeUndefined();
  });
});

describe('a VirtualService Istio rejects (retries attempts 0 with perTryTimeout)', () => {
  const rejected = vs('reviews', {
    hosts: ['reviews'],
    http: [{ retries: { attempts: 0, perTryTimeout: '1s' }, route: toV2 }],
  });
  const m = model(rejected);

  test('lint reports it (MESH001, as istioctl’s IST0106)', () => {
    const findings = validate(m).filter((f) => f.code === 'MESH001');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/attempts is 0/);
  });

  test('explain does not route by it, and says why', () => {
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.virtualService).toBeUndefined();
    expect(e.retries).toBeUndefined();
    expect(e.notes.join('\n')).toMatch(
      /VirtualService default\/reviews is not applied: Istio rejects it \(.*attempts is 0/,
    );
  });
});
