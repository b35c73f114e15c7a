/** Hop 1: the caller's container opens the connection. */
import { noSidecarWhy, type Walk } from './walk.js';

export function callerHop(w: Walk): void {
  const { model, e, caller, cw, service, servicePort, ip } = w;
  const name = cw?.name ?? (caller.namespace ? caller.description : 'the client');
  w.hops.push({
    kind: 'caller',
    at: cw ? `${cw.name} app container` : caller.description,
    summary: `connects to ${e.host}${servicePort !== undefined ? `:${servicePort}` : ''}${ip ? ` (${ip})` : service ? ' (the Service ClusterIP)' : ''}`,
    details: [
      cw
        ? caller.sidecar
          ? `${cw.name} has an istio-proxy sidecar; its istio-init (or the CNI) installed the ISTIO_* nat chains`
          : cw.ambient
            ? `${cw.name} is in ambient mode (no sidecar): its node's ztunnel handles its traffic`
            : `${cw.name} has no sidecar: ${noSidecarWhy(model, cw)}`
        : `${name} has no sidecar`,
    ],
    status: 'pass',
    ...(cw ? { workload: cw.name } : {}),
    sidecar: caller.sidecar,
    target: {
      host: e.host,
      ...(servicePort !== undefined ? { port: servicePort } : {}),
      ...(ip ? { ip } : {}),
    },
  });
}
