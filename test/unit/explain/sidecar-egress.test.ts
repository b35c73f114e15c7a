/**
 * A Sidecar's `egress.hosts` decide which Services and ServiceEntries a proxy knows. A host it does
 * not import has no VirtualService, subset or cluster in the caller's proxy: called directly, the
 * outbound traffic policy decides (ALLOW_ANY passes it through in plain text to the ClusterIP,
 * REGISTRY_ONLY answers 502 from BlackHoleCluster); named by a route, its cluster is missing
 * (503 NC). explain and reachability answer alike.
 */
import { explain, formatExplanation } from '../../../mesh/explain/index.js';
import { reachability } from '../../../mesh/explain/reachability.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/validate.js';
import { baseMesh, deployment, pa, sc, service, vs } from '../validator/fixtures.js';

const sa = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: 'default' },
});

/** The object moved to namespace `ns`. */
const inNs = (o: KubeObject, ns: string): KubeObject => ({
  ...o,
  metadata: { ...o.metadata, namespace: ns },
});

/** A `billing` app in namespace `payments` (injected), beside Bookinfo's in `default`. */
const payments = (): KubeObject[] => [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'payments', labels: { 'istio-injection': 'enabled' } },
  },
  inNs(service('billing'), 'payments'),
  inNs(sa('bookinfo-billing'), 'payments'),
  inNs(deployment('billing', 'v1'), 'payments'),
  inNs(deployment('billing', 'v2'), 'payments'),
];
const model = (...extra: KubeObject[]) =>
  buildModel([...baseMesh(), ...payments(), ...extra].map((object) => ({ object })));
/** The namespace default's Sidecar: only its own namespace's hosts, and the outbound policy given. */
const onlyOwn = (mode?: 'ALLOW_ANY' | 'REGISTRY_ONLY') =>
  sc('default', { egress: [{ hosts: ['./*'] }], ...(mode ? { outboundTrafficPolicy: { mode } } : {}) });
const billingV2 = inNs(
  vs('billing', {
    hosts: ['billing'],
    http: [{ route: [{ destination: { host: 'billing', subset: 'v2' } }] }],
  }),
  'payments',
);
const strictPayments = inNs(pa('default', { mtls: { mode: 'STRICT' } }), 'payments');
const toBilling = { from: 'productpage', host: 'billing.payments.svc.cluster.local' };

describe("explain: a Service the caller's Sidecar does not import", () => {
  test('ALLOW_ANY: passed through as addressed, in plain text, to any pod; its VirtualService does not apply', () => {
    const e = explain(model(onlyOwn(), billingV2), toBilling);
    expect(e.virtualService).toBeUndefined();
    expect(e.notes).toContain(
      "Sidecar default/default does not import billing.payments.svc.cluster.local (egress hosts: ./*): Deployment default/productpage-v1's proxy has no VirtualService, subset or route for it, and its outbound traffic policy decides",
    );
    const d = e.destinations[0]!;
    expect(d.egress).toEqual({
      result: 'passthrough',
      policy: 'ALLOW_ANY',
      decidedBy: "Istio's default",
      notImportedBy: 'Sidecar default/default',
    });
    expect([d.subset, d.workloads, d.tls?.client, d.tls?.mutual, d.tls?.ok]).toEqual([
      undefined,
      ['billing-v1', 'billing-v2'],
      'DISABLE',
      false,
      true,
    ]);
    expect(formatExplanation(e)).toContain(
      "egress:      PassthroughCluster: not imported by Sidecar default/default, forwarded as addressed (ALLOW_ANY, Istio's default)",
    );
  });

  test('ALLOW_ANY against a STRICT callee: the plain-text connection fails', () => {
    const d = explain(model(onlyOwn(), strictPayments), toBilling).destinations[0]!;
    expect([d.egress?.result, d.tls?.server, d.tls?.ok]).toEqual(['passthrough', 'STRICT', false]);
  });

  test("REGISTRY_ONLY (the Sidecar's): 502 from BlackHoleCluster", () => {
    const d = explain(model(onlyOwn('REGISTRY_ONLY')), toBilling).destinations[0]!;
    expect(d.egress).toEqual({
      result: 'blackhole',
      policy: 'REGISTRY_ONLY',
      decidedBy: 'Sidecar default/default',
      notImportedBy: 'Sidecar default/default',
    });
    expect(d.problem).toBe(
      'Sidecar default/default does not import billing.payments.svc.cluster.local and the outbound traffic policy is REGISTRY_ONLY (Sidecar default/default): the sidecar sends it to BlackHoleCluster (502)',
    );
  });

  test("imported hosts are routed as usual: by namespace, by name, by *; a root-namespace Sidecar reads . as the caller's namespace", () => {
    for (const hosts of [['payments/*'], ['payments/billing.payments.svc.cluster.local'], ['*/*']]) {
      const e = explain(model(sc('default', { egress: [{ hosts }] }), billingV2), toBilling);
      expect([e.virtualService, e.destinations[0]!.subset, e.destinations[0]!.egress]).toEqual([
        'payments/billing',
        'v2',
        undefined,
      ]);
    }
    const root = inNs(sc('default', { egress: [{ hosts: ['./*'] }] }), 'istio-system');
    expect(
      explain(model(root), { from: 'productpage', host: 'reviews' }).destinations[0]!.egress,
    ).toBeUndefined();
    expect(explain(model(root), toBilling).destinations[0]!.egress?.notImportedBy).toBe(
      'Sidecar istio-system/default',
    );
    const none = sc('default', { egress: [{ hosts: ['~/*'] }] });
    expect(
      explain(model(none), { from: 'productpage', host: 'reviews' }).destinations[0]!.egress?.result,
    ).toBe('passthrough');
  });

  test('a route on an imported host to a host the Sidecar leaves out: the cluster is missing, 503 NC', () => {
    const toBillingRoute = vs('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'billing.payments.svc.cluster.local' } }] }],
    });
    const d = explain(model(onlyOwn(), toBillingRoute), { from: 'productpage', host: 'reviews' })
      .destinations[0]!;
    expect(d.problem).toBe(
      "Sidecar default/default does not import billing.payments.svc.cluster.local: the route's cluster is not in Deployment default/productpage-v1's proxy (503 NC)",
    );
  });

  test('a caller no Sidecar selects, and the ingress gateway, are not limited', () => {
    const other = sc('other', {
      workloadSelector: { labels: { app: 'reviews' } },
      egress: [{ hosts: ['./*'] }],
    });
    expect(explain(model(other), toBilling).destinations[0]!.egress).toBeUndefined();
    expect(
      explain(model(other), { ...toBilling, from: 'reviews' }).destinations[0]!.egress?.notImportedBy,
    ).toBe('Sidecar default/other');
  });
});

describe('reachability and the declared calls follow the Sidecar', () => {
  const cell = (m: ReturnType<typeof model>, from: string) =>
    reachability(m).cells.find((c) => c.from.name === from && c.to === 'payments/billing')!;

  test('ALLOW_ANY: reachable in plain text (none under STRICT); REGISTRY_ONLY: no connection', () => {
    expect(cell(model(onlyOwn()), 'productpage')).toMatchObject({
      access: 'allow',
      reason:
        "Sidecar default/default does not import payments/billing: passed through in plain text (ALLOW_ANY, Istio's default); no ALLOW policy applies to the workload",
    });
    expect(cell(model(onlyOwn(), strictPayments), 'productpage').access).toBe('no-connection');
    expect(cell(model(onlyOwn('REGISTRY_ONLY')), 'productpage')).toMatchObject({
      access: 'no-connection',
      reason:
        'Sidecar default/default does not import payments/billing: 502 from BlackHoleCluster (REGISTRY_ONLY, Sidecar default/default)',
    });
    // Without the Sidecar the same caller reaches it with mTLS.
    expect(cell(model(), 'productpage')).toMatchObject({ access: 'allow', tls: { mutual: true } });
  });

  test('a declared call to a Service the Sidecar leaves out under REGISTRY_ONLY is MESH506', () => {
    const objects = [...baseMesh(), ...payments(), onlyOwn('REGISTRY_ONLY')].map((object) => ({ object }));
    const calls = [
      {
        from: {
          name: 'productpage',
          namespace: 'default',
          principal: 'cluster.local/ns/default/sa/bookinfo-productpage',
        },
        to: { name: 'billing', namespace: 'payments' },
      },
    ];
    const findings = validate(buildModel(objects, { calls })).filter((f) => f.code === 'MESH506');
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining(
        'Sidecar default/default does not import payments/billing: 502 from BlackHoleCluster (REGISTRY_ONLY, Sidecar default/default)',
      ),
    ]);
    const open = buildModel(
      [
        ...baseMesh(),
        ...payments(),
        sc('default', { egress: [{ hosts: ['*/*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }),
      ].map((object) => ({ object })),
      { calls },
    );
    expect(validate(open).filter((f) => f.code === 'MESH506')).toEqual([]);
  });
});
