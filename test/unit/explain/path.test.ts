/**
 * `explain --path`: the hop-by-hop path of a request through iptables and the sidecars, on the
 * Bookinfo calls of the reference, and how it changes when traffic bypasses a sidecar.
 */
import { Testing } from 'cdk8s';
import {
  explainPath,
  formatPath,
  inCidr,
  inboundCapture,
  outboundCapture,
  type PathHop,
  type RequestPath,
} from '../../../mesh/explain/index.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { buildScenario, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';
import { baseMesh, deployment, dr, pa, service, vs } from '../validator/fixtures.js';

const scenario = (name: ScenarioName) => buildScenario(Testing.app(), name).mesh;
const jason = { 'end-user': 'jason' };
/** One line per hop: kind | where | what. */
const hops = (p: RequestPath) => p.hops.map((h) => `${h.kind} | ${h.at} | ${h.summary}`);
const hop = <K extends PathHop['kind']>(p: RequestPath, kind: K) =>
  p.hops.find((h): h is Extract<PathHop, { kind: K }> => h.kind === kind);
const model = (objects: KubeObject[]) => buildModel(objects.map((object) => ({ object })));
const withPodAnnotations = (o: KubeObject, annotations: Record<string, string>): KubeObject => {
  const copy = structuredClone(o) as { spec: { template: { metadata: Record<string, unknown> } } };
  copy.spec.template.metadata.annotations = annotations;
  return copy as unknown as KubeObject;
};
const mutate = (objects: KubeObject[], name: string, f: (o: KubeObject) => KubeObject) =>
  objects.map((o) => (o.metadata?.name === name && o.kind === 'Deployment' ? f(o) : o));

const SIDECAR_TO_SIDECAR = [
  'caller',
  'iptables-outbound',
  'sidecar-outbound',
  'transport',
  'callee-node',
  'iptables-inbound',
  'sidecar-inbound',
  'callee',
];

describe('the sidecar path of the Bookinfo calls', () => {
  test('productpage → details (zero trust): 15001, mTLS, 15006 with details-viewer, the app from 127.0.0.6', () => {
    const p = scenario('zero-trust-call-graph').explainPath({ from: 'productpage', host: 'details' });
    expect(hops(p)).toEqual([
      'caller | productpage-v1 app container | connects to details.default.svc.cluster.local:9080 (the Service ClusterIP)',
      'iptables-outbound | productpage-v1 iptables nat OUTPUT | OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT → REDIRECT to :15001',
      'sidecar-outbound | productpage-v1 istio-proxy :15001 | default route → details.default.svc.cluster.local (details-v1)',
      'transport | productpage-v1 → details-v1 | mutual TLS with Istio certificates (client auto mTLS; server STRICT)',
      'callee-node | details-v1 pod, on its node | to the pod IP of details-v1:9080',
      'iptables-inbound | details-v1 iptables nat PREROUTING | PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
      'sidecar-inbound | details-v1 istio-proxy :15006 | inbound listener, mTLS filter chain, cluster inbound|9080||: ALLOW by default/details-viewer',
      'callee | details-v1 app container :9080 | receives the request from 127.0.0.6',
    ]);
    expect(p.hops.every((h) => h.status === 'pass')).toBe(true);
    expect(hop(p, 'iptables-outbound')).toMatchObject({
      chains: ['OUTPUT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT'],
      redirectPort: 15001,
    });
    expect(hop(p, 'sidecar-outbound')?.route).toMatchObject({
      cluster: 'outbound|9080||details.default.svc.cluster.local',
      destination: { host: 'details.default.svc.cluster.local', workload: 'details-v1', probability: 1 },
    });
    expect(hop(p, 'sidecar-outbound')?.details).toContain(
      "Envoy's own connection to the endpoint runs as uid 1337: ISTIO_OUTPUT RETURNs it, so it is not captured again",
    );
    expect(hop(p, 'transport')).toMatchObject({
      encryption: 'mTLS',
      tls: { client: 'ISTIO_MUTUAL', clientDecidedBy: 'auto mTLS', server: 'STRICT' },
    });
    expect(hop(p, 'callee-node')?.endpointChosenBy).toBe('envoy');
    expect(hop(p, 'iptables-inbound')).toMatchObject({
      chains: ['PREROUTING', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT'],
      redirectPort: 15006,
    });
    expect(hop(p, 'sidecar-inbound')).toMatchObject({
      port: 15006,
      filterChain: 'mTLS',
      principal: 'cluster.local/ns/default/sa/bookinfo-productpage',
      authorization: { decision: 'ALLOW', policy: 'default/details-viewer', rule: 0 },
    });
    expect(hop(p, 'callee')).toMatchObject({ workload: 'details-v1', port: 9080, source: '127.0.0.6' });
    expect(p.outcome).toEqual({ result: 'delivered', detail: 'details-v1 answers' });
    expect(p.bypasses).toEqual([]);
  });

  test('productpage → reviews as jason: the route picks subset v2 on the caller sidecar (cluster outbound|9080|v2|…)', () => {
    const p = scenario('reviews-jason-v2').explainPath({
      from: 'productpage',
      host: 'reviews',
      headers: jason,
    });
    expect(p.hops.map((h) => h.kind)).toEqual(SIDECAR_TO_SIDECAR);
    expect(hops(p)[2]).toBe(
      'sidecar-outbound | productpage-v1 istio-proxy :15001 | VirtualService default/reviews → reviews.default.svc.cluster.local subset v2 (reviews-v2)',
    );
    expect(hop(p, 'sidecar-outbound')?.route).toEqual({
      virtualService: 'default/reviews',
      rule: 'http[0] match[0]',
      destination: {
        host: 'reviews.default.svc.cluster.local',
        subset: 'v2',
        probability: 1,
        workload: 'reviews-v2',
      },
      alternatives: [],
      cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
    });
    expect(hops(p)[4]).toBe('callee-node | reviews-v2 pod, on its node | to the pod IP of reviews-v2:9080');
    expect(hop(p, 'callee-node')?.details).toEqual([
      "the endpoint comes from Envoy's EDS for subset v2; kube-proxy's ClusterIP NAT is not involved",
    ]);
    // Without jason, the catch-all rule: v1.
    const other = scenario('reviews-jason-v2').explainPath({ from: 'productpage', host: 'reviews' });
    expect(hop(other, 'callee')?.workload).toBe('reviews-v1');
  });

  test('a weighted split follows the most likely destination, lists the other, and follows a chosen subset', () => {
    const mesh = scenario('reviews-80-20');
    const p = mesh.explainPath({ from: 'productpage', host: 'reviews' });
    expect(hop(p, 'sidecar-outbound')?.route.destination).toMatchObject({ subset: 'v1', probability: 0.8 });
    expect(hop(p, 'sidecar-outbound')?.route.alternatives).toEqual([
      { host: 'reviews.default.svc.cluster.local', subset: 'v2', probability: 0.2, workload: 'reviews-v2' },
    ]);
    expect(
      hop(mesh.explainPath({ from: 'productpage', host: 'reviews', subset: 'v2' }), 'callee')?.workload,
    ).toBe('reviews-v2');
  });

  test('reviews → ratings: ALLOW by ratings-viewer in the call-graph mesh, 403 [none] under the reference allow-nothing', () => {
    const allowed = scenario('zero-trust-call-graph').explainPath({ from: 'reviews', host: 'ratings' });
    expect(allowed.hops.map((h) => h.kind)).toEqual(SIDECAR_TO_SIDECAR);
    expect(hop(allowed, 'sidecar-inbound')?.authorization).toMatchObject({
      decision: 'ALLOW',
      policy: 'default/ratings-viewer',
    });
    expect(allowed.outcome.result).toBe('delivered');

    const denied = scenario('zero-trust').explainPath({ from: 'reviews', host: 'ratings' });
    expect(denied.hops.map((h) => h.kind)).toEqual(SIDECAR_TO_SIDECAR.slice(0, -1));
    expect(hops(denied).at(-1)).toBe(
      'sidecar-inbound | ratings-v1 istio-proxy :15006 | inbound listener, mTLS filter chain, cluster inbound|9080||: DENY by default/allow-nothing',
    );
    expect(denied.hops.at(-1)?.status).toBe('stop');
    // As the reference's access log: 403 rbac_access_denied_matched_policy[none].
    expect(denied.outcome).toEqual({
      result: 'denied',
      status: 403,
      responseFlags: 'rbac_access_denied_matched_policy[none]',
      detail: 'RBAC: access denied (no rule of the ALLOW policies (default/allow-nothing) matches)',
    });
  });

  test('the ingress gateway → productpage: the gateway routes (no iptables, no 15001), then the callee path', () => {
    const p = scenario('zero-trust-call-graph').explainPath({
      from: 'ingress',
      host: 'bookinfo.example.com',
      port: 8080,
      path: '/productpage',
    });
    expect(hops(p)).toEqual([
      'gateway | the ingress gateway (Envoy, istio-system) | VirtualService default/bookinfo → productpage.default.svc.cluster.local (productpage-v1)',
      'transport | ingress gateway → productpage-v1 | mutual TLS with Istio certificates (client auto mTLS; server STRICT)',
      'callee-node | productpage-v1 pod, on its node | to the pod IP of productpage-v1:9080',
      'iptables-inbound | productpage-v1 iptables nat PREROUTING | PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
      'sidecar-inbound | productpage-v1 istio-proxy :15006 | inbound listener, mTLS filter chain, cluster inbound|9080||: ALLOW by default/productpage-viewer',
      'callee | productpage-v1 app container :9080 | receives the request from 127.0.0.6',
    ]);
    expect(hop(p, 'gateway')).toMatchObject({
      gateway: 'default/bookinfo-gateway',
      port: 8080,
      route: { virtualService: 'default/bookinfo', rule: 'http[0] match[0]' },
    });
    expect(hop(p, 'sidecar-inbound')?.principal).toBe(
      'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
    );
  });

  test("jason's delay: injected by reviews' sidecar on 15001, then delivered (DI)", () => {
    const p = scenario('jason-delay').explainPath({ from: 'reviews', host: 'ratings', headers: jason });
    expect(p.hops.map((h) => h.kind)).toEqual(SIDECAR_TO_SIDECAR);
    const out = hop(p, 'sidecar-outbound')!;
    expect(out.route.fault).toEqual({ delay: { fixedDelay: '7s', percentage: 100 } });
    expect(out.details).toContain('fault: delay 7s on 100% (flag DI)');
    expect(p.outcome).toEqual({
      result: 'delivered',
      responseFlags: 'DI',
      detail: 'ratings-v1 answers after the 7s injected delay (100% of requests)',
    });
    // Not jason: no fault.
    const other = scenario('jason-delay').explainPath({ from: 'reviews', host: 'ratings' });
    expect(hop(other, 'sidecar-outbound')?.route.fault).toBeUndefined();
    expect(other.outcome).toEqual({ result: 'delivered', detail: 'ratings-v1 answers' });
  });

  test('an abort answers on the caller sidecar: the request never leaves the pod', () => {
    const p = scenario('jason-abort').explainPath({ from: 'reviews', host: 'ratings', headers: jason });
    expect(p.hops.map((h) => [h.kind, h.status])).toEqual([
      ['caller', 'pass'],
      ['iptables-outbound', 'pass'],
      ['sidecar-outbound', 'stop'],
    ]);
    expect(p.outcome).toMatchObject({ result: 'fault', status: 500, responseFlags: 'FI' });
  });

  test('a delay longer than the route timeout ends in 504 UT on the caller sidecar', () => {
    const m = model([
      ...baseMesh(),
      vs('ratings', {
        hosts: ['ratings'],
        http: [
          {
            fault: { delay: { fixedDelay: '7s', percentage: { value: 100 } } },
            timeout: '3s',
            route: [{ destination: { host: 'ratings', subset: 'v1' } }],
          },
        ],
      }),
    ]);
    expect(explainPath(m, { from: 'reviews', host: 'ratings' }).outcome).toEqual({
      result: 'timeout',
      status: 504,
      responseFlags: 'DI,UT',
      detail: 'the 7s delay outlasts the 3s route timeout',
    });
  });
});

describe('STRICT and plain text (the reference netpod)', () => {
  test('a client without a sidecar reaches ratings in plain text: refused at 15006 with filter_chain_not_found', () => {
    const p = scenario('mtls-strict').explainPath({
      from: 'outside',
      host: 'ratings.default.svc.cluster.local',
      path: '/health',
    });
    expect(hops(p)).toEqual([
      'caller | a client outside the mesh | connects to ratings.default.svc.cluster.local:9080 (the Service ClusterIP)',
      'iptables-outbound | a client outside the mesh: no sidecar, no ISTIO_* chains | no ISTIO_OUTPUT chain: the connection leaves the pod as the app opened it',
      'transport | client → ratings-v1 | plain text (caller has no sidecar)',
      'callee-node | ratings-v1 pod, on its node | kube-proxy DNATs the ClusterIP to any pod of ratings (ratings-v1); followed: ratings-v1:9080',
      'iptables-inbound | ratings-v1 iptables nat PREROUTING | PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
      'sidecar-inbound | ratings-v1 istio-proxy :15006 | inbound listener: no filter chain for plain text on 9080 (STRICT): the connection is reset',
    ]);
    expect(p.hops.map((h) => h.status)).toEqual(['pass', 'bypass', 'pass', 'pass', 'pass', 'stop']);
    expect(p.outcome).toEqual({
      result: 'refused',
      responseFlags: 'NR filter_chain_not_found',
      detail:
        'ratings-v1\'s proxy logs "- - -" 0 NR filter_chain_not_found; the caller sees "Connection reset by peer"',
    });
    expect(p.bypasses).toEqual([
      { reason: 'no-sidecar', side: 'outbound', detail: 'a client outside the mesh has no sidecar' },
    ]);
  });

  test('near miss: under PERMISSIVE (no policy) the same plain-text request lands on the plain-text filter chain', () => {
    const p = scenario('platform').explainPath({
      from: 'outside',
      host: 'ratings.default.svc.cluster.local',
    });
    expect(hop(p, 'sidecar-inbound')).toMatchObject({ filterChain: 'plaintext', status: 'pass' });
    expect(hop(p, 'sidecar-inbound')?.principal).toBeUndefined();
    expect(p.outcome.result).toBe('delivered');
  });

  test('a DestinationRule DISABLE from a sidecar to a STRICT callee: refused the same way, 503 at the caller proxy', () => {
    const m = model([
      ...baseMesh().filter((o) => !(o.kind === 'DestinationRule' && o.metadata?.name === 'ratings')),
      dr('ratings', { host: 'ratings', trafficPolicy: { tls: { mode: 'DISABLE' } } }),
      pa('default', { mtls: { mode: 'STRICT' } }),
    ]);
    const p = explainPath(m, { from: 'reviews', host: 'ratings' });
    expect(hop(p, 'transport')?.tls?.clientDecidedBy).toBe('DestinationRule default/ratings');
    expect(p.outcome).toMatchObject({
      result: 'refused',
      status: 503,
      responseFlags: 'NR filter_chain_not_found',
    });
  });
});

describe('traffic that bypasses the sidecar', () => {
  const withIp = (objects: KubeObject[], service: string, ip: string) =>
    objects.map((o) =>
      o.kind === 'Service' && o.metadata?.name === service
        ? { ...o, spec: { ...(o.spec as object), clusterIP: ip } }
        : o,
    );

  test('excludeOutboundIPRanges covering the Service IP: ISTIO_OUTPUT RETURNs, kube-proxy picks any pod, no route applies', () => {
    const objects = withIp(
      mutate(
        [
          ...baseMesh(),
          vs('reviews', {
            hosts: ['reviews'],
            http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }],
          }),
        ],
        'productpage-v1',
        (o) => withPodAnnotations(o, { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.96.0.0/12' }),
      ),
      'reviews',
      '10.97.9.166',
    );
    const p = explainPath(model(objects), { from: 'productpage', host: 'reviews' });
    expect(hops(p)).toEqual([
      'caller | productpage-v1 app container | connects to reviews.default.svc.cluster.local:9080 (10.97.9.166)',
      'iptables-outbound | productpage-v1 iptables nat OUTPUT | OUTPUT → ISTIO_OUTPUT → RETURN: not redirected, the sidecar is bypassed',
      "transport | productpage-v1 → reviews-v1 | plain text (the caller's sidecar is bypassed (excluded-cidr))",
      'callee-node | reviews-v1 pod, on its node | kube-proxy DNATs the ClusterIP to any pod of reviews (reviews-v1, reviews-v2); followed: reviews-v1:9080',
      'iptables-inbound | reviews-v1 iptables nat PREROUTING | PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
      'sidecar-inbound | reviews-v1 istio-proxy :15006 | inbound listener, plain-text filter chain, cluster inbound|9080||: ALLOW',
      'callee | reviews-v1 app container :9080 | receives the request from 127.0.0.6',
    ]);
    expect(p.bypasses).toEqual([
      {
        reason: 'excluded-cidr',
        side: 'outbound',
        detail:
          'traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.96.0.0/12" → ISTIO_OUTPUT -d 10.96.0.0/12 -j RETURN (10.97.9.166)',
      },
    ]);
    // Near miss: an IP outside the range is captured, and the route to v2 applies.
    const captured = explainPath(model(objects), { from: 'productpage', host: 'reviews', ip: '10.200.0.1' });
    expect(captured.bypasses).toEqual([]);
    expect(hop(captured, 'callee')?.workload).toBe('reviews-v2');
  });

  test('excludeOutboundPorts, includeOutboundIPRanges and the proxy uid 1337', () => {
    const objects = mutate(baseMesh(), 'productpage-v1', (o) =>
      withPodAnnotations(o, { 'traffic.sidecar.istio.io/excludeOutboundPorts': '9080,3306' }),
    );
    const byPort = explainPath(model(objects), { from: 'productpage', host: 'reviews' });
    expect(byPort.bypasses.map((b) => b.reason)).toEqual(['excluded-port']);
    expect(byPort.bypasses[0]!.detail).toBe(
      'traffic.sidecar.istio.io/excludeOutboundPorts: "9080,3306" → ISTIO_OUTPUT -p tcp --dport 9080 -j RETURN',
    );
    expect(hop(byPort, 'iptables-outbound')).toMatchObject({
      status: 'bypass',
      chains: ['OUTPUT', 'ISTIO_OUTPUT'],
    });

    const uid = explainPath(model(baseMesh()), { from: 'productpage', host: 'reviews', uid: 1337 });
    expect(uid.bypasses.map((b) => b.detail)).toEqual([
      "uid 1337 is istio-proxy's own → ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN",
    ]);
    expect(hop(uid, 'sidecar-outbound')).toBeUndefined();

    expect(
      outboundCapture(
        { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8' },
        80,
        '192.168.1.1',
        undefined,
      ),
    ).toMatchObject({
      captured: false,
      bypass: { reason: 'cidr-not-included' },
    });
    expect(
      outboundCapture(
        { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8' },
        80,
        '10.1.2.3',
        undefined,
      ),
    ).toMatchObject({
      captured: true,
    });
    expect(
      outboundCapture(
        {
          'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8',
          'traffic.sidecar.istio.io/includeOutboundPorts': '80',
        },
        80,
        '10.1.2.3',
        undefined,
      ),
    ).toMatchObject({ captured: true });
    expect(
      outboundCapture(
        { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8' },
        80,
        undefined,
        undefined,
      ),
    ).toEqual({
      captured: true,
      notes: [
        'the pod sets traffic.sidecar.istio.io/excludeOutboundIPRanges but the destination IP is unknown (no clusterIP in the model; pass ip): assumed captured',
      ],
    });
  });

  test("inbound: Istio's own ports and excludeInboundPorts; an excluded port behind auto mTLS fails the handshake", () => {
    expect(inboundCapture({}, 15021)).toMatchObject({ captured: false, bypass: { reason: 'istio-port' } });
    expect(inboundCapture({}, 15090)).toMatchObject({ captured: false, bypass: { reason: 'istio-port' } });
    expect(inboundCapture({}, 9080)).toEqual({ captured: true });
    expect(inboundCapture({ 'traffic.sidecar.istio.io/includeInboundPorts': '8080' }, 9080)).toMatchObject({
      captured: false,
      bypass: { reason: 'port-not-included' },
    });
    const objects = mutate(baseMesh(), 'ratings-v1', (o) =>
      withPodAnnotations(o, { 'traffic.sidecar.istio.io/excludeInboundPorts': '9080' }),
    );
    const p = explainPath(model(objects), { from: 'reviews', host: 'ratings' });
    expect(p.hops.map((h) => [h.kind, h.status])).toEqual([
      ['caller', 'pass'],
      ['iptables-outbound', 'pass'],
      ['sidecar-outbound', 'pass'],
      ['transport', 'pass'],
      ['callee-node', 'pass'],
      ['iptables-inbound', 'stop'],
    ]);
    expect(p.outcome).toMatchObject({ result: 'refused', status: 503, responseFlags: 'UF' });
    // Near miss: with the DestinationRule turning TLS off, the plain-text request reaches the app directly.
    const fixed = explainPath(
      model([
        ...objects.filter((o) => !(o.kind === 'DestinationRule' && o.metadata?.name === 'ratings')),
        dr('ratings', { host: 'ratings', trafficPolicy: { tls: { mode: 'DISABLE' } } }),
      ]),
      { from: 'reviews', host: 'ratings' },
    );
    expect(fixed.outcome.result).toBe('delivered');
    expect(hop(fixed, 'sidecar-inbound')).toBeUndefined();
    expect(hop(fixed, 'callee')?.source).toBe('the caller pod IP');
  });

  test('a callee in a namespace with injection disabled: plain text by auto mTLS, no inbound sidecar, no policy', () => {
    const inLegacy = (o: KubeObject): KubeObject => ({
      ...o,
      metadata: { ...o.metadata, namespace: 'legacy' },
    });
    const m = model([
      ...baseMesh().filter((o) => !['ratings', 'ratings-v1'].includes(o.metadata?.name ?? '')),
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'legacy', labels: { 'istio-injection': 'disabled' } },
      },
      inLegacy(service('ratings')),
      inLegacy(deployment('ratings', 'v1')),
    ]);
    const p = explainPath(m, { from: 'productpage', host: 'ratings.legacy.svc.cluster.local' });
    expect(p.hops.map((h) => h.kind)).toEqual([
      'caller',
      'iptables-outbound',
      'sidecar-outbound',
      'transport',
      'callee-node',
      'iptables-inbound',
      'callee',
    ]);
    expect(hop(p, 'transport')).toMatchObject({
      encryption: 'plaintext',
      tls: { clientDecidedBy: 'auto mTLS' },
    });
    expect(p.bypasses).toEqual([
      { reason: 'no-sidecar', side: 'inbound', detail: 'namespace legacy has istio-injection: disabled' },
    ]);
    expect(hop(p, 'callee')?.source).toBe('the caller pod IP');
  });

  test('a callee in a namespace without an injection label has no sidecar unless its pods opt in by label', () => {
    const inLegacy = (o: KubeObject): KubeObject => ({
      ...o,
      metadata: { ...o.metadata, namespace: 'legacy' },
    });
    const unlabelled = (opt: boolean) =>
      model([
        ...baseMesh().filter((o) => !['ratings', 'ratings-v1'].includes(o.metadata?.name ?? '')),
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy' } },
        inLegacy(service('ratings')),
        ((d) => {
          if (opt)
            (
              d.spec as { template: { metadata: { labels: Record<string, string> } } }
            ).template.metadata.labels['sidecar.istio.io/inject'] = 'true';
          return d;
        })(inLegacy(deployment('ratings', 'v1'))),
      ]);
    const off = explainPath(unlabelled(false), {
      from: 'productpage',
      host: 'ratings.legacy.svc.cluster.local',
    });
    expect(off.bypasses).toEqual([
      {
        reason: 'no-sidecar',
        side: 'inbound',
        detail:
          'namespace legacy has no istio-injection or istio.io/rev label, and ratings-v1\'s pods are not labelled sidecar.istio.io/inject: "true"',
      },
    ]);
    const on = explainPath(unlabelled(true), {
      from: 'productpage',
      host: 'ratings.legacy.svc.cluster.local',
    });
    expect(on.bypasses).toEqual([]);
    expect(on.hops.map((h) => h.kind)).toContain('sidecar-inbound');
  });

  test('a caller that opted out (sidecar: false): no capture, kube-proxy picks any version, the route to v2 is ignored', () => {
    const m = model([
      ...baseMesh().filter((o) => o.metadata?.name !== 'productpage-v1'),
      deployment('productpage', 'v1', { inject: false }),
      vs('reviews', {
        hosts: ['reviews'],
        http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }],
      }),
    ]);
    const p = explainPath(m, { from: 'productpage', host: 'reviews' });
    expect(hops(p).slice(0, 2)).toEqual([
      'caller | productpage-v1 app container | connects to reviews.default.svc.cluster.local:9080 (the Service ClusterIP)',
      'iptables-outbound | productpage-v1 iptables nat OUTPUT | no ISTIO_OUTPUT chain: the connection leaves the pod as the app opened it',
    ]);
    expect(hop(p, 'caller')?.details).toEqual([
      'productpage-v1 has no sidecar: productpage-v1\'s pods say sidecar.istio.io/inject: "false"',
    ]);
    expect(hop(p, 'sidecar-outbound')).toBeUndefined();
    expect(hop(p, 'callee-node')).toMatchObject({ endpointChosenBy: 'kube-proxy', workload: 'reviews-v1' });
  });

  test('inCidr: IPv4 ranges; unreadable input is unknown', () => {
    expect(inCidr('10.97.9.166', '10.96.0.0/12')).toBe(true);
    expect(inCidr('10.112.0.1', '10.96.0.0/12')).toBe(false);
    expect(inCidr('1.2.3.4', '1.2.3.4')).toBe(true);
    expect(inCidr('0.0.0.1', '0.0.0.0/0')).toBe(true);
    expect(inCidr('fd00::1', 'fd00::/8')).toBeUndefined();
    expect(inCidr('10.0.0.1', '10.0.0.0/33')).toBeUndefined();
  });
});

describe('formatPath', () => {
  test('one numbered line per hop, the decisions under it, the result and the bypasses', () => {
    const text = formatPath(
      scenario('mtls-strict').explainPath({ from: 'outside', host: 'ratings.default.svc.cluster.local' }),
    );
    expect(text.split('\n')[0]).toBe(
      'GET ratings.default.svc.cluster.local/ from a client outside the mesh, hop by hop:',
    );
    expect(text).toContain(
      ' 6. sidecar-inbound    ratings-v1 istio-proxy :15006: inbound listener: no filter chain for plain text on 9080 (STRICT): the connection is reset [stop]',
    );
    expect(text.split('\n').slice(-2)).toEqual([
      'result: refused (NR filter_chain_not_found): ratings-v1\'s proxy logs "- - -" 0 NR filter_chain_not_found; the caller sees "Connection reset by peer"',
      'bypass (outbound, no-sidecar): a client outside the mesh has no sidecar',
    ]);
  });
});
