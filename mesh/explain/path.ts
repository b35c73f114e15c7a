/**
 * `explain --path`: the hop-by-hop path of one request through the pods' iptables and the Envoy
 * sidecars, as Istio's sidecar mode wires it:
 *
 *   caller container → nat OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT → caller istio-proxy :15001
 *   (outbound listener: route, fault, timeout, retries, the endpoint) → the wire (mTLS or not)
 *   → the callee's node and pod → nat PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → callee
 *   istio-proxy :15006 (inbound listener: filter chain by TLS, authorization) → the callee
 *   container port, from 127.0.0.6.
 *
 * and what leaves that path: the proxy's own uid 1337 (never captured, so Envoy's upstream
 * connection is not redirected again), Istio's own ports (15008, 15090, 15021, 15020), the ports
 * and CIDRs of the `traffic.sidecar.istio.io/*` pod annotations, and pods without a sidecar
 * (namespace not injected, `sidecar.istio.io/inject: "false"`), whose traffic goes straight to
 * kube-proxy's Service NAT with no route, no mTLS and no policy.
 *
 * Built on {@link explain}: the routing, mTLS and authorization decisions are the simulator's;
 * this module places them at the hop where Envoy makes them.
 * @see https://istio.io/latest/docs/ops/deployment/application-requirements/
 */
import type { MeshModel } from '../model/types.js';
import { explain, type ExplainOptions } from './explain.js';
import { ambientCallee, ambientOutbound } from './path/ambient.js';
import { calleeHop } from './path/callee.js';
import { calleeNodeHop } from './path/callee-node.js';
import { callerHop } from './path/caller.js';
import { inboundIptablesHop } from './path/iptables-inbound.js';
import { outboundIptablesHop } from './path/iptables-outbound.js';
import { kubeProxyPick } from './path/kube-proxy.js';
import { routingProxyHop } from './path/routing-proxy.js';
import { inboundSidecarHop } from './path/sidecar-inbound.js';
import { transportHop } from './path/transport.js';
import type { PathRequest, RequestPath } from './path/types.js';
import { finish, startWalk, targetPortOf } from './path/walk.js';

export { inCidr, inboundCapture, outboundCapture, podAnnotations } from './path/capture.js';
export { formatPath } from './path/format.js';
export * from './path/types.js';

/**
 * The hop-by-hop path of one request. Throws {@link ExplainError} only for a caller the model
 * does not have.
 */
export function explainPath(
  model: MeshModel,
  request: PathRequest,
  options: ExplainOptions = {},
): RequestPath {
  const w = startWalk(model, request, explain(model, request, options));

  // 1. The caller's container and 2. nat OUTPUT in its pod; the ingress gateway is a proxy of
  // its own, with no iptables capture in front of it.
  let proxied = true;
  if (!w.caller.ingress) {
    callerHop(w);
    // An ambient caller: its node's ztunnel, HBONE, the waypoint, the callee's ztunnel.
    if (w.caller.ambient) return finish(w, ambientOutbound(w));
    proxied = outboundIptablesHop(w);
  }

  // 3. The routing proxy (the caller's sidecar on 15001, or the ingress gateway); without one,
  // kube-proxy's pick among the Service's pods.
  const reached = proxied ? routingProxyHop(w) : kubeProxyPick(w);
  if ('ended' in reached) return finish(w, reached.ended);
  const targetPort = targetPortOf(w, reached.by === 'envoy' ? reached.dest : undefined);

  // An ambient callee: a proxy's HBONE tunnel (through the waypoint, if any) or plain text, to its ztunnel.
  if (reached.server.ambient) {
    if (reached.by === 'kube-proxy') calleeNodeHop(w, reached, targetPort);
    const sender =
      reached.by === 'kube-proxy'
        ? undefined
        : w.caller.ingress
          ? 'the ingress gateway'
          : `${w.cw?.name ?? 'caller'} istio-proxy`;
    return finish(w, ambientCallee(w, reached.server, sender));
  }

  // 4. The wire.
  const tls = transportHop(w, reached, targetPort);

  // 5. The callee's pod on its node.
  calleeNodeHop(w, reached, targetPort);

  // 6. nat PREROUTING in the callee's pod.
  const inbound = inboundIptablesHop(w, reached.server, targetPort, tls);
  if ('ended' in inbound) return finish(w, inbound.ended);

  // 7. The callee's sidecar on 15006.
  if (inbound.captured) {
    const end = inboundSidecarHop(w, reached, targetPort, tls);
    if (end) return finish(w, end.ended);
  }

  // 8. The callee's container.
  return finish(w, calleeHop(w, reached, targetPort, inbound.captured));
}
