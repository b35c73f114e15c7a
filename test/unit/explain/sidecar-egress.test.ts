/**
 * A Sidecar's `egress.hosts` decide which Services and ServiceEntries a proxy knows. A host it does
 * not import has no VirtualService, subset or cluster in the caller's proxy: called directly, the
 * outbound traffic policy decides (ALLOW_ANY passes it through in plain text to the ClusterIP,
 * REGISTRY_ONLY answers 502 from BlackHoleCluster); named by a route, its cluster is missing
 * (503 NC). explain and reachability answer alike.
 */
import { explain, explainPath, formatExplanation, formatPath } from '../../../mesh/explain/index.js';
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

describe('explain --hops names the cluster the outbound traffic policy chose', () => {
  const CALLER = [
    'GET billing.payments.svc.cluster.local/ from Deployment default/productpage-v1, hop by hop:',
    ' 1. caller             productpage-v1 app container: connects to billing.payments.svc.cluster.local:9080 (the Service ClusterIP)',
    '                       productpage-v1 has an istio-proxy sidecar; its istio-init (or the CNI) installed the ISTIO_* nat chains',
    ' 2. iptables-outbound  productpage-v1 iptables nat OUTPUT: OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT → REDIRECT to :15001',
    "                       the app's uid is not 1337, the destination is not 127.0.0.1 and no exclusion matches",
  ];
  const NOTE =
    "                       note: Sidecar default/default does not import billing.payments.svc.cluster.local (egress hosts: ./*): Deployment default/productpage-v1's proxy has no VirtualService, subset or route for it, and its outbound traffic policy decides";

  test('ALLOW_ANY: PassthroughCluster to the ClusterIP, kube-proxy picks the pod, plain text', () => {
    const p = explainPath(model(onlyOwn(), billingV2), toBilling);
    expect(formatPath(p)).toBe(
      [
        ...CALLER,
        ' 3. sidecar-outbound   productpage-v1 istio-proxy :15001: PassthroughCluster → billing.payments.svc.cluster.local as addressed (ALLOW_ANY), no mTLS',
        '                       outbound listener (virtualOutbound) hands the connection to the routes of port 9080',
        "                       no virtual host for billing.payments.svc.cluster.local in the proxy's routes: Sidecar default/default does not import billing.payments.svc.cluster.local",
        "                       → the catch-all virtual host allow_any: cluster PassthroughCluster, which connects to the address the app dialled (billing.payments.svc.cluster.local:9080) without mTLS (ALLOW_ANY, Istio's default)",
        "                       Envoy's own connection to the endpoint runs as uid 1337: ISTIO_OUTPUT RETURNs it, so it is not captured again",
        NOTE,
        ' 4. transport          productpage-v1 → billing-v1: plain text (PassthroughCluster, which adds no mTLS)',
        '                       client side: DISABLE, by PassthroughCluster, which adds no mTLS',
        '                       server side: PERMISSIVE, by Istio default (PERMISSIVE)',
        '                       no peer identity travels with the request: source principals and namespaces cannot match',
        ' 5. callee-node        billing-v1 pod, on its node: kube-proxy DNATs the ClusterIP to any pod of billing (billing-v1, billing-v2); followed: billing-v1:9080',
        "                       PassthroughCluster connects to the ClusterIP the app dialled, so kube-proxy picks the pod, not Envoy's EDS: subsets and load-balancer settings do not apply",
        ' 6. iptables-inbound   billing-v1 iptables nat PREROUTING: PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
        "                       port 9080 is not one of Istio's own (15008, 15020, 15021, 15090) nor excluded by the pod's annotations",
        ' 7. sidecar-inbound    billing-v1 istio-proxy :15006: inbound listener, plain-text filter chain, cluster inbound|9080||: ALLOW',
        '                       mTLS PERMISSIVE decided by Istio default (PERMISSIVE)',
        '                       no peer principal (plain text)',
        '                       authorization: no ALLOW policy applies to the workload',
        ' 8. callee             billing-v1 app container :9080: receives the request from 127.0.0.6',
        '                       the inbound sidecar connects from 127.0.0.6 to the pod IP; ISTIO_OUTPUT RETURNs -s 127.0.0.6 -o lo, so it is not captured again',
        'result: delivered: billing-v1 answers',
      ].join('\n'),
    );
    expect(p.hops[2]).toMatchObject({ route: { cluster: 'PassthroughCluster' } });
    expect(p.hops[4]).toMatchObject({ endpointChosenBy: 'kube-proxy' });
  });

  test('ALLOW_ANY against a STRICT callee: the plain-text connection is reset at its sidecar', () => {
    const p = explainPath(model(onlyOwn(), strictPayments), toBilling);
    expect(p.hops.map((h) => `${h.kind}:${h.status}`).slice(2)).toEqual([
      'sidecar-outbound:pass',
      'transport:pass',
      'callee-node:pass',
      'iptables-inbound:pass',
      'sidecar-inbound:stop',
    ]);
    expect(p.outcome).toMatchObject({
      result: 'refused',
      status: 503,
      responseFlags: 'NR filter_chain_not_found',
    });
  });

  test("REGISTRY_ONLY: the catch-all block_all answers 502 in the caller's proxy; nothing leaves the pod", () => {
    const p = explainPath(model(onlyOwn('REGISTRY_ONLY')), toBilling);
    expect(formatPath(p)).toBe(
      [
        ...CALLER,
        ' 3. sidecar-outbound   productpage-v1 istio-proxy :15001: BlackHoleCluster: 502 (REGISTRY_ONLY) [stop]',
        '                       outbound listener (virtualOutbound) hands the connection to the routes of port 9080',
        "                       no virtual host for billing.payments.svc.cluster.local in the proxy's routes: Sidecar default/default does not import billing.payments.svc.cluster.local",
        '                       → the catch-all virtual host block_all (BlackHoleCluster): the proxy answers 502 itself (REGISTRY_ONLY, Sidecar default/default)',
        NOTE,
        'result: unavailable 502: Sidecar default/default does not import billing.payments.svc.cluster.local and the outbound traffic policy is REGISTRY_ONLY (Sidecar default/default): the sidecar sends it to BlackHoleCluster (502)',
      ].join('\n'),
    );
    expect(p.hops[2]).toMatchObject({ route: { cluster: 'BlackHoleCluster' } });
  });

  test("a route to a host the Sidecar leaves out: the route's cluster is missing, 503 NC", () => {
    const toBillingRoute = vs('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'billing.payments.svc.cluster.local' } }] }],
    });
    const p = explainPath(model(onlyOwn(), toBillingRoute), { from: 'productpage', host: 'reviews' });
    expect(formatPath(p).split('\n').slice(5)).toEqual([
      ' 3. sidecar-outbound   productpage-v1 istio-proxy :15001: VirtualService default/reviews → billing.payments.svc.cluster.local [stop]',
      '                       outbound listener (virtualOutbound) hands the connection to the reviews.default.svc.cluster.local:9080 route',
      '                       VirtualService default/reviews http[0]',
      '                       → billing.payments.svc.cluster.local (100%), cluster outbound|9080||billing.payments.svc.cluster.local, which is not in the proxy: Sidecar default/default does not import billing.payments.svc.cluster.local',
      "result: unavailable 503 (NC): Sidecar default/default does not import billing.payments.svc.cluster.local: the route's cluster is not in Deployment default/productpage-v1's proxy (503 NC)",
    ]);
    expect(p.hops[2]).toMatchObject({
      route: { cluster: 'outbound|9080||billing.payments.svc.cluster.local', clusterMissing: true },
    });
  });

  test('a host in no ServiceEntry: PassthroughCluster leaves the mesh (ALLOW_ANY), BlackHoleCluster 502 (REGISTRY_ONLY)', () => {
    const external = { from: 'productpage', host: 'api.example.com' };
    const open = explainPath(model(), external);
    expect([open.hops[2]!.summary, open.outcome]).toEqual([
      'PassthroughCluster → api.example.com as addressed (ALLOW_ANY)',
      {
        result: 'left-mesh',
        detail:
          'api.example.com is in no ServiceEntry and is not a Service of the mesh: PassthroughCluster forwards the request as addressed and it leaves the mesh from here',
      },
    ]);
    const closed = explainPath(model(onlyOwn('REGISTRY_ONLY')), external);
    expect([closed.hops[2]!.summary, closed.outcome.status, closed.outcome.result]).toEqual([
      'BlackHoleCluster: 502 (REGISTRY_ONLY)',
      502,
      'unavailable',
    ]);
  });
});
