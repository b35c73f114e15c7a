/** Hop 6: nat PREROUTING in the callee's pod, which hands the connection to the sidecar or lets it through. */
import type { Workload } from '../../model/types.js';
import type { HopTls } from '../explain.js';
import { inboundCapture, podAnnotations } from './capture.js';
import { INBOUND_CAPTURE_PORT, ISTIO_INBOUND_EXCLUDED_PORTS, type Bypass } from './types.js';
import { noSidecarWhy, stopAtLastHop, type Ended, type Walk } from './walk.js';

/**
 * Pushes the hop; whether the callee's sidecar takes the connection, or the request ends here
 * (TLS sent straight to an app that expects plain text).
 */
export function inboundIptablesHop(
  w: Walk,
  server: Workload,
  targetPort: number | undefined,
  tls: HopTls,
): { readonly captured: boolean } | Ended {
  if (!server.sidecar) {
    const bypass: Bypass = { reason: 'no-sidecar', side: 'inbound', detail: noSidecarWhy(w.model, server) };
    w.bypasses.push(bypass);
    w.hops.push({
      kind: 'iptables-inbound',
      at: `${server.name} iptables nat PREROUTING`,
      summary: 'no ISTIO_INBOUND chain: straight to the app',
      details: ['no PeerAuthentication, AuthorizationPolicy or EnvoyFilter of the mesh is enforced on it'],
      status: 'bypass',
      bypass,
      chains: ['PREROUTING'],
    });
    return { captured: false };
  }
  const inbound = inboundCapture(podAnnotations(server), targetPort);
  if (!inbound.captured) {
    w.bypasses.push(inbound.bypass);
    w.hops.push({
      kind: 'iptables-inbound',
      at: `${server.name} iptables nat PREROUTING`,
      summary: 'PREROUTING → ISTIO_INBOUND → RETURN: not redirected, the sidecar is bypassed',
      details: [
        inbound.bypass.detail,
        'no PeerAuthentication or AuthorizationPolicy is enforced on this port',
      ],
      status: 'bypass',
      bypass: inbound.bypass,
      chains: ['PREROUTING', 'ISTIO_INBOUND'],
    });
    if (tls.client !== 'DISABLE')
      return {
        ended: stopAtLastHop(w, {
          result: 'refused',
          status: 503,
          responseFlags: 'UF',
          detail: `the caller's proxy speaks ${tls.client} but port ${targetPort} reaches the app directly, which expects plain text: the handshake fails (a DestinationRule with tls DISABLE for this port fixes it)`,
        }),
      };
    return { captured: false };
  }
  w.hops.push({
    kind: 'iptables-inbound',
    at: `${server.name} iptables nat PREROUTING`,
    summary: `PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :${INBOUND_CAPTURE_PORT}`,
    details: [
      `port ${targetPort ?? '?'} is not one of Istio's own (${Object.keys(ISTIO_INBOUND_EXCLUDED_PORTS).join(', ')}) nor excluded by the pod's annotations`,
    ],
    status: 'pass',
    chains: ['PREROUTING', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT'],
    redirectPort: INBOUND_CAPTURE_PORT,
  });
  return { captured: true };
}
