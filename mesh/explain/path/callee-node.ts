/** Hop 5: the callee's pod on its node: the endpoint Envoy chose, or kube-proxy's pick. */
import { PASSTHROUGH_CLUSTER } from './types.js';
import type { Reached, Walk } from './walk.js';

export function calleeNodeHop(w: Walk, reached: Reached, targetPort: number | undefined): void {
  const server = reached.server;
  const at = `${server.name} pod, on its node`;
  if (reached.by === 'envoy' && reached.dest.egress?.result !== 'passthrough') {
    w.hops.push({
      kind: 'callee-node',
      at,
      summary: `to the pod IP of ${server.name}:${targetPort ?? '?'}`,
      details: [
        `the endpoint comes from Envoy's EDS for ${reached.dest.subset ? `subset ${reached.dest.subset}` : 'the Service'}; kube-proxy's ClusterIP NAT is not involved`,
      ],
      status: 'pass',
      workload: server.name,
      endpointChosenBy: 'envoy',
    });
    return;
  }
  const [service, pool] =
    reached.by === 'envoy'
      ? [reached.dest.host.split('.')[0], reached.dest.workloads]
      : [reached.service.name, reached.pool];
  w.hops.push({
    kind: 'callee-node',
    at,
    summary: `kube-proxy DNATs the ClusterIP to any pod of ${service} (${pool.join(', ')}); followed: ${server.name}:${targetPort ?? '?'}`,
    details: [
      reached.by === 'envoy'
        ? `${PASSTHROUGH_CLUSTER} connects to the ClusterIP the app dialled, so kube-proxy picks the pod, not Envoy's EDS: subsets and load-balancer settings do not apply`
        : 'no proxy on the caller side: VirtualService routes, subsets, faults, timeouts and retries do not apply',
    ],
    status: 'pass',
    workload: server.name,
    endpointChosenBy: 'kube-proxy',
  });
}
