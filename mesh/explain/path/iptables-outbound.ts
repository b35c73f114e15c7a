/** Hop 2: nat OUTPUT in the caller's pod, which hands the connection to the sidecar or lets it go. */
import { outboundCapture, podAnnotations } from './capture.js';
import { OUTBOUND_CAPTURE_PORT, PROXY_UID, type Bypass } from './types.js';
import { noSidecarWhy, type Walk } from './walk.js';

/** Pushes the hop; true when the caller's sidecar captures the connection. */
export function outboundIptablesHop(w: Walk): boolean {
  const { model, request, caller, cw, servicePort, ip } = w;
  const chains = ['OUTPUT', 'ISTIO_OUTPUT'];
  if (!caller.sidecar) {
    const bypass: Bypass = {
      reason: 'no-sidecar',
      side: 'outbound',
      detail: cw ? noSidecarWhy(model, cw) : `${caller.description} has no sidecar`,
    };
    w.bypasses.push(bypass);
    w.hops.push({
      kind: 'iptables-outbound',
      at: cw ? `${cw.name} iptables nat OUTPUT` : `${caller.description}: no sidecar, no ISTIO_* chains`,
      summary: 'no ISTIO_OUTPUT chain: the connection leaves the pod as the app opened it',
      details: ['no route, fault, retry or mTLS of the mesh applies to it'],
      status: 'bypass',
      bypass,
      chains: ['OUTPUT'],
    });
    return false;
  }
  const cap = outboundCapture(cw ? podAnnotations(cw) : {}, servicePort, ip, request.uid);
  if (cap.captured) {
    w.hops.push({
      kind: 'iptables-outbound',
      at: `${cw?.name ?? 'caller'} iptables nat OUTPUT`,
      summary: `OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT → REDIRECT to :${OUTBOUND_CAPTURE_PORT}`,
      details: [
        `the app's uid is not ${PROXY_UID}, the destination is not 127.0.0.1 and no exclusion matches`,
        ...cap.notes,
      ],
      status: 'pass',
      chains: [...chains, 'ISTIO_REDIRECT'],
      redirectPort: OUTBOUND_CAPTURE_PORT,
    });
    return true;
  }
  w.bypasses.push(cap.bypass);
  w.hops.push({
    kind: 'iptables-outbound',
    at: `${cw?.name ?? 'caller'} iptables nat OUTPUT`,
    summary: 'OUTPUT → ISTIO_OUTPUT → RETURN: not redirected, the sidecar is bypassed',
    details: [cap.bypass.detail, 'no route, fault, retry or mTLS of the mesh applies to it'],
    status: 'bypass',
    bypass: cap.bypass,
    chains,
  });
  return false;
}
