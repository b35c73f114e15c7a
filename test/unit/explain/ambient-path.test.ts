/**
 * `explain --hops` in ambient mode: the caller's ztunnel, HBONE, the waypoint when the Service has
 * one, the callee's ztunnel, and where each policy holds (L7 at the waypoint with the caller's
 * identity, L4 at the callee's ztunnel with the identity it sees), on Bookinfo with and without a
 * waypoint, and with a waypoint the namespace names but the mesh does not have.
 */
import { Testing } from 'cdk8s';
import { ZeroTrustPolicy } from '../../../constructs/index.js';
import { bookinfo } from '../../../examples/bookinfo/bookinfo.js';
import { explainPath, formatPath, type RequestPath } from '../../../mesh/explain/index.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';

const ambient = (waypoint: boolean) =>
  bookinfo(Testing.app(), 'bookinfo', { mode: { dataPlane: 'ambient', trafficApi: 'istio', waypoint } });
const kinds = (p: RequestPath) => p.hops.map((h) => `${h.kind}:${h.status}`);

describe('explain --hops in ambient mode (Bookinfo)', () => {
  test('with a waypoint: ztunnel, HBONE as the caller, the waypoint (route, L7 policy), HBONE as the waypoint, the callee ztunnel (L4)', () => {
    const p = ambient(true).mesh.explainPath({ from: 'productpage', host: 'reviews' });
    expect(formatPath(p).split('\n')).toEqual([
      'GET reviews/ from Deployment default/productpage-v1, hop by hop:',
      ' 1. caller            productpage-v1 app container: connects to reviews.default.svc.cluster.local:9080 (the Service ClusterIP)',
      "                      productpage-v1 is in ambient mode (no sidecar): its node's ztunnel handles its traffic",
      " 2. ztunnel-outbound  productpage-v1's ztunnel (its node's), outbound :15001: HBONE to waypoint default/waypoint for reviews.default.svc.cluster.local",
      "                      istio-cni redirects productpage-v1's outbound connections, inside its pod, to its node's ztunnel; there is no sidecar and no ISTIO_* chain of a proxy in the pod",
      "                      ztunnel is L4: it applies no VirtualService, HTTPRoute or L7 policy; the tunnel carries productpage-v1's identity cluster.local/ns/default/sa/bookinfo-productpage",
      "                      Service default/reviews uses waypoint default/waypoint (namespace default's istio.io/use-waypoint): the connection goes to the waypoint",
      " 3. hbone             productpage-v1's ztunnel → waypoint default/waypoint :15008: mutual TLS, HTTP/2 CONNECT to reviews.default.svc.cluster.local, as cluster.local/ns/default/sa/bookinfo-productpage",
      "                      HBONE: the tunnel's client certificate is the identity the other end's policies see",
      ' 4. waypoint          waypoint default/waypoint (Envoy, in its own pod): default route → reviews.default.svc.cluster.local (reviews-v1); L7 authorization: ALLOW',
      '                      no VirtualService for reviews.default.svc.cluster.local: the default route to the Service',
      '                      → reviews.default.svc.cluster.local (100%): reviews-v1, reviews-v2, reviews-v3, cluster outbound|9080||reviews.default.svc.cluster.local',
      "                      authorization (policies attached by targetRefs to the Service or the waypoint, with the caller's identity cluster.local/ns/default/sa/bookinfo-productpage): no ALLOW policy applies to the workload",
      '                      the waypoint opens its own HBONE tunnel to the endpoint, as cluster.local/ns/default/sa/waypoint',
      " 5. hbone             waypoint default/waypoint → reviews-v1's ztunnel :15008: mutual TLS, HTTP/2 CONNECT to reviews-v1's pod IP, as cluster.local/ns/default/sa/waypoint",
      "                      HBONE: the tunnel's client certificate is the identity the other end's policies see",
      " 6. ztunnel-inbound   reviews-v1's ztunnel (its node's), inbound :15008: the tunnel ends; L4 authorization: ALLOW",
      '                      mTLS PERMISSIVE decided by Istio default (PERMISSIVE), enforced by ztunnel on reviews-v1',
      '                      peer identity cluster.local/ns/default/sa/waypoint',
      "                      authorization (selector and namespace policies, L4): no ALLOW policy applies to the workload (ztunnel sees the waypoint's identity cluster.local/ns/default/sa/waypoint)",
      " 7. callee            reviews-v1 app container :9080: receives the request from waypoint default/waypoint's pod IP",
      '                      ztunnel delivers it inside the pod, keeping the source address',
      'result: delivered: reviews-v1 answers',
    ]);
    expect(p.hops.find((h) => h.kind === 'ztunnel-outbound')).toMatchObject({
      port: 15001,
      waypoint: 'default/waypoint',
    });
    expect(p.hops.filter((h) => h.kind === 'hbone').map((h) => h.kind === 'hbone' && h.principal)).toEqual([
      'cluster.local/ns/default/sa/bookinfo-productpage',
      'cluster.local/ns/default/sa/waypoint',
    ]);
  });

  test('without a waypoint: ztunnel picks the pod and tunnels straight to the callee ztunnel with the caller identity', () => {
    const p = ambient(false).mesh.explainPath({ from: 'productpage', host: 'reviews' });
    expect(formatPath(p).split('\n')).toEqual([
      'GET reviews/ from Deployment default/productpage-v1, hop by hop:',
      ' 1. caller            productpage-v1 app container: connects to reviews.default.svc.cluster.local:9080 (the Service ClusterIP)',
      "                      productpage-v1 is in ambient mode (no sidecar): its node's ztunnel handles its traffic",
      " 2. ztunnel-outbound  productpage-v1's ztunnel (its node's), outbound :15001: no waypoint: HBONE straight to reviews-v1's ztunnel",
      "                      istio-cni redirects productpage-v1's outbound connections, inside its pod, to its node's ztunnel; there is no sidecar and no ISTIO_* chain of a proxy in the pod",
      "                      ztunnel is L4: it applies no VirtualService, HTTPRoute or L7 policy; the tunnel carries productpage-v1's identity cluster.local/ns/default/sa/bookinfo-productpage",
      '                      no waypoint for reviews.default.svc.cluster.local: ztunnel picks an endpoint of the Service itself (reviews-v1, reviews-v2, reviews-v3); followed: reviews-v1',
      '                      note: Deployment default/productpage-v1 is captured by ztunnel, which is L4, and reviews.default.svc.cluster.local has no waypoint: no VirtualService, HTTPRoute, subset, fault, timeout, retry or mirror applies; ztunnel picks any pod of the Service',
      " 3. hbone             productpage-v1's ztunnel → reviews-v1's ztunnel :15008: mutual TLS, HTTP/2 CONNECT to reviews-v1's pod IP, as cluster.local/ns/default/sa/bookinfo-productpage",
      "                      HBONE: the tunnel's client certificate is the identity the other end's policies see",
      " 4. ztunnel-inbound   reviews-v1's ztunnel (its node's), inbound :15008: the tunnel ends; L4 authorization: ALLOW",
      '                      mTLS PERMISSIVE decided by Istio default (PERMISSIVE), enforced by ztunnel on reviews-v1',
      '                      peer identity cluster.local/ns/default/sa/bookinfo-productpage',
      "                      authorization (selector and namespace policies, L4): no ALLOW policy applies to the workload (ztunnel sees the caller's identity cluster.local/ns/default/sa/bookinfo-productpage)",
      " 5. callee            reviews-v1 app container :9080: receives the request from productpage-v1's pod IP",
      '                      ztunnel delivers it inside the pod, keeping the source address',
      'result: delivered: reviews-v1 answers',
    ]);
  });

  test('a waypoint the namespace names but the mesh lacks: no waypoint hop, and the hop says why', () => {
    const objects = Testing.synth(ambient(true).mesh).filter((o) => o.kind !== 'Gateway') as KubeObject[];
    const p = explainPath(buildModel(objects.map((object) => ({ object }))), {
      from: 'productpage',
      host: 'reviews',
    });
    expect(kinds(p)).toEqual([
      'caller:pass',
      'ztunnel-outbound:pass',
      'hbone:pass',
      'ztunnel-inbound:pass',
      'callee:pass',
    ]);
    expect(p.hops[1]!.summary).toBe("no waypoint: HBONE straight to reviews-v1's ztunnel");
    expect(p.hops[1]!.details).toContain(
      "namespace default names waypoint default/waypoint (istio.io/use-waypoint), but the mesh has no Gateway default/waypoint of class istio-waypoint: istiod binds no waypoint (the Service's istio.io/WaypointBound condition is False), so ztunnel connects straight to the pod and no L7 route or targetRefs policy applies",
    );
    expect(p.outcome).toEqual({ result: 'delivered', detail: 'reviews-v1 answers' });
  });

  test('zero trust: an L7 DENY stops at the waypoint (403); an L4 DENY without a waypoint at the callee ztunnel (reset)', () => {
    const withWp = ambient(true);
    new ZeroTrustPolicy(withWp.mesh, 'zero-trust');
    withWp.productpage.calls(withWp.reviews, { methods: ['GET'] });
    const post = withWp.mesh.explainPath({ from: 'productpage', host: 'reviews', method: 'POST' });
    expect(kinds(post)).toEqual(['caller:pass', 'ztunnel-outbound:pass', 'hbone:pass', 'waypoint:stop']);
    expect(post.outcome).toMatchObject({ result: 'denied', status: 403 });
    expect(post.hops[3]).toMatchObject({
      authorization: { decision: 'DENY', enforcedBy: 'waypoint default/waypoint' },
    });
    const get = withWp.mesh.explainPath({ from: 'productpage', host: 'reviews' });
    expect([get.outcome.result, get.hops.at(-2)?.kind]).toEqual(['delivered', 'ztunnel-inbound']);

    const noWp = ambient(false);
    new ZeroTrustPolicy(noWp.mesh, 'zero-trust');
    noWp.productpage.calls(noWp.reviews);
    const denied = noWp.mesh.explainPath({ from: 'ratings', host: 'reviews' });
    expect(kinds(denied)).toEqual([
      'caller:pass',
      'ztunnel-outbound:pass',
      'hbone:pass',
      'ztunnel-inbound:stop',
    ]);
    expect(denied.outcome).toMatchObject({ result: 'denied' });
    expect(denied.outcome.status).toBeUndefined();
    expect(denied.hops[3]).toMatchObject({
      authorization: { decision: 'DENY', enforcedBy: 'ztunnel of reviews-v1' },
    });
  });

  test('a client outside the mesh: kube-proxy picks the pod, its ztunnel takes plain text on 15006 with no identity', () => {
    const p = ambient(false).mesh.explainPath({ from: 'outside', host: 'reviews' });
    expect(kinds(p)).toEqual([
      'caller:pass',
      'iptables-outbound:bypass',
      'callee-node:pass',
      'ztunnel-inbound:pass',
      'callee:pass',
    ]);
    expect(p.hops[3]).toMatchObject({ port: 15006 });
    expect(p.hops[3]!.summary).toBe('plain text from outside the mesh; L4 authorization: ALLOW');
  });
});
