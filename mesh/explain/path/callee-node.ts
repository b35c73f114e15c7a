/** Hop 5: the callee's pod on its node: the endpoint Envoy chose, or kube-proxy's pick. */
import type { Reached, Walk } from './walk.js';

export function calleeNodeHop(w: Walk, reached: Reached, targetPort: number | undefined): void {
  const server = reached.server;
  w.hops.push(
    reached.by === 'envoy'
      ? {
          kind: 'callee-node',
          at: `${server.name} pod, on its node`,
          summary: `to the pod IP of ${server.name}:${targetPort ?? '?'}`,
          details: [
            `the endpoint comes from Envoy's EDS for ${reached.dest.subset ? `subset ${reached.dest.subset}` : 'the Service'}; kube-proxy's ClusterIP NAT is not involved`,
          ],
          status: 'pass',
          workload: server.name,
          endpointChosenBy: 'envoy',
        }
      : {
          kind: 'callee-node',
          at: `${server.name} pod, on its node`,
          summary: `kube-proxy DNATs the ClusterIP to any pod of ${reached.service.name} (${reached.pool.join(', ')}); followed: ${server.name}:${targetPort ?? '?'}`,
          details: [
            'no proxy on the caller side: VirtualService routes, subsets, faults, timeouts and retries do not apply',
          ],
          status: 'pass',
          workload: server.name,
          endpointChosenBy: 'kube-proxy',
        },
  );
}
