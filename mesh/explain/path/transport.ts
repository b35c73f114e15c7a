/** Hop 4: the wire between the two pods, with the TLS each side decided. */
import { hopTls, type HopTls } from '../explain.js';
import type { Reached, Walk } from './walk.js';

/** Pushes the hop; the TLS the hop really uses (recomputed when no proxy routed the request). */
export function transportHop(w: Walk, reached: Reached, targetPort: number | undefined): HopTls {
  const { model, caller, cw, servicePort } = w;
  const server = reached.server;
  let tls = reached.by === 'envoy' ? reached.tls : undefined;
  if (!tls) {
    const effectiveCaller = reached.by === 'envoy' ? caller : { ...caller, sidecar: false };
    tls = hopTls(model, effectiveCaller, server, undefined, undefined, servicePort, targetPort);
    const skipped = w.bypasses.find((b) => b.side === 'outbound');
    if (caller.sidecar && skipped)
      tls = { ...tls, clientDecidedBy: `the caller's sidecar is bypassed (${skipped.reason})` };
  }
  const encryption: 'mTLS' | 'TLS' | 'plaintext' =
    tls.client === 'ISTIO_MUTUAL' ? 'mTLS' : tls.client === 'DISABLE' ? 'plaintext' : 'TLS';
  w.hops.push({
    kind: 'transport',
    at: `${caller.ingress ? 'ingress gateway' : (cw?.name ?? 'client')} → ${server.name}`,
    summary:
      encryption === 'mTLS'
        ? `mutual TLS with Istio certificates (client ${tls.clientDecidedBy}; server ${tls.server})`
        : encryption === 'TLS'
          ? `TLS ${tls.client} (${tls.clientDecidedBy})`
          : `plain text (${tls.clientDecidedBy})`,
    details: [
      `client side: ${tls.client}, by ${tls.clientDecidedBy}`,
      `server side: ${tls.server}, by ${tls.serverDecidedBy}`,
      ...(encryption === 'mTLS'
        ? [`the callee sees the caller's principal ${caller.principal ?? '(unknown)'}`]
        : ['no peer identity travels with the request: source principals and namespaces cannot match']),
    ],
    status: 'pass',
    encryption,
    tls,
  });
  return tls;
}
