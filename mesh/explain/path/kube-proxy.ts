/**
 * Hop 3 without a proxy on the caller's side: kube-proxy's DNAT sends the connection to any pod
 * of the Service, whatever the routes say.
 */
import { workloadsOf } from '../../model/query.js';
import type { Reached, Ended, Walk } from './walk.js';

export function kubeProxyPick(w: Walk): Reached | Ended {
  const { model, e, service } = w;
  if (!service)
    return {
      ended: {
        result: 'unavailable',
        detail: `${e.host} is not a Service of the model: the connection is not followed further`,
      },
    };
  const all = workloadsOf(model, service);
  const server = all[0];
  if (!server)
    return {
      ended: { result: 'unavailable', detail: `no workload behind ${service.namespace}/${service.name}` },
    };
  return { by: 'kube-proxy', service, server, pool: all.map((x) => x.name) };
}
