/** `cli explain --hops`: the sidecar path of one request, as text and as JSON. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT, EXPLAIN_EXIT } from '../../../cli/main.js';
import { cli, tempDirEach } from './helpers.js';
import { baseMesh, pa } from '../validator/fixtures.js';

const tmp = tempDirEach('cli-hops-');
const mesh = () => {
  const p = join(tmp(), 'mesh.yaml');
  writeFileSync(
    p,
    [...baseMesh(), pa('default', { mtls: { mode: 'STRICT' } })].map((o) => stringify(o)).join('---\n'),
  );
  return p;
};

describe('cli explain --hops', () => {
  test('prints every hop from the caller container to the callee container', async () => {
    const r = await cli(
      'explain',
      mesh(),
      '--from',
      'productpage',
      '--host',
      'reviews',
      '--path',
      '/reviews/0',
      '--hops',
    );
    expect(r).toMatchObject({ code: EXIT.ok, err: '' });
    expect(r.out).toBe(
      [
        'GET reviews/reviews/0 from Deployment default/productpage-v1, hop by hop:',
        ' 1. caller             productpage-v1 app container: connects to reviews.default.svc.cluster.local:9080 (the Service ClusterIP)',
        '                       productpage-v1 has an istio-proxy sidecar; its istio-init (or the CNI) installed the ISTIO_* nat chains',
        ' 2. iptables-outbound  productpage-v1 iptables nat OUTPUT: OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT → REDIRECT to :15001',
        "                       the app's uid is not 1337, the destination is not 127.0.0.1 and no exclusion matches",
        ' 3. sidecar-outbound   productpage-v1 istio-proxy :15001: default route → reviews.default.svc.cluster.local (reviews-v1)',
        '                       outbound listener (virtualOutbound) hands the connection to the reviews.default.svc.cluster.local:9080 route',
        '                       no VirtualService for reviews.default.svc.cluster.local: the default route to the Service',
        '                       → reviews.default.svc.cluster.local (100%): reviews-v1, reviews-v2, cluster outbound|9080||reviews.default.svc.cluster.local',
        "                       Envoy's own connection to the endpoint runs as uid 1337: ISTIO_OUTPUT RETURNs it, so it is not captured again",
        ' 4. transport          productpage-v1 → reviews-v1: mutual TLS with Istio certificates (client auto mTLS; server STRICT)',
        '                       client side: ISTIO_MUTUAL, by auto mTLS',
        '                       server side: STRICT, by PeerAuthentication default/default (namespace)',
        "                       the callee sees the caller's principal cluster.local/ns/default/sa/bookinfo-productpage",
        ' 5. callee-node        reviews-v1 pod, on its node: to the pod IP of reviews-v1:9080',
        "                       the endpoint comes from Envoy's EDS for the Service; kube-proxy's ClusterIP NAT is not involved",
        ' 6. iptables-inbound   reviews-v1 iptables nat PREROUTING: PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :15006',
        "                       port 9080 is not one of Istio's own (15008, 15020, 15021, 15090) nor excluded by the pod's annotations",
        ' 7. sidecar-inbound    reviews-v1 istio-proxy :15006: inbound listener, mTLS filter chain, cluster inbound|9080||: ALLOW',
        '                       mTLS STRICT decided by PeerAuthentication default/default (namespace)',
        '                       peer principal cluster.local/ns/default/sa/bookinfo-productpage',
        '                       authorization: no ALLOW policy applies to the workload',
        ' 8. callee             reviews-v1 app container :9080: receives the request from 127.0.0.6',
        '                       the inbound sidecar connects from 127.0.0.6 to the pod IP; ISTIO_OUTPUT RETURNs -s 127.0.0.6 -o lo, so it is not captured again',
        'result: delivered: reviews-v1 answers',
        '',
      ].join('\n'),
    );
  });

  test('--output json is the RequestPath; the STRICT refusal of a plain-text client', async () => {
    const r = await cli(
      'explain',
      mesh(),
      '--host',
      'ratings.default.svc.cluster.local',
      '--hops',
      '-o',
      'json',
    );
    expect(r.code).toBe(EXPLAIN_EXIT.refused);
    const p = JSON.parse(r.out) as { hops: { kind: string; status: string }[]; outcome: unknown };
    expect(p.hops.map((h) => `${h.kind}:${h.status}`)).toEqual([
      'caller:pass',
      'iptables-outbound:bypass',
      'transport:pass',
      'callee-node:pass',
      'iptables-inbound:pass',
      'sidecar-inbound:stop',
    ]);
    expect(p.outcome).toMatchObject({ result: 'refused', responseFlags: 'NR filter_chain_not_found' });
  });

  test('without --hops, explain prints the explanation as before', async () => {
    const r = await cli('explain', mesh(), '--from', 'productpage', '--host', 'reviews');
    expect(r.out).not.toContain('hop by hop');
    expect(r.out).toContain('VirtualService:  none (default route to the Service)');
  });
});
