/** Hop 8: the callee's container receives the request. */
import { INBOUND_PASSTHROUGH_SOURCE, type PathOutcome } from './types.js';
import type { Reached, Walk } from './walk.js';

/** Pushes the hop; the request is delivered (after the injected delay, if any). */
export function calleeHop(
  w: Walk,
  reached: Reached,
  targetPort: number | undefined,
  inboundProxied: boolean,
): PathOutcome {
  const { e } = w;
  const server = reached.server;
  const source = inboundProxied ? INBOUND_PASSTHROUGH_SOURCE : 'the caller pod IP';
  w.hops.push({
    kind: 'callee',
    at: `${server.name} app container :${targetPort ?? '?'}`,
    summary: `receives the request from ${source}`,
    details: inboundProxied
      ? [
          `the inbound sidecar connects from ${INBOUND_PASSTHROUGH_SOURCE} to the pod IP; ISTIO_OUTPUT RETURNs -s ${INBOUND_PASSTHROUGH_SOURCE} -o lo, so it is not captured again`,
        ]
      : ['no sidecar in between: the app sees the peer address itself'],
    status: 'pass',
    workload: server.name,
    ...(targetPort !== undefined ? { port: targetPort } : {}),
    source,
  });
  const delayed =
    e.fault?.delay && reached.by === 'envoy'
      ? ` after the ${e.fault.delay.fixedDelay} injected delay (${e.fault.delay.percentage}% of requests)`
      : '';
  return {
    result: 'delivered',
    ...(delayed ? { responseFlags: 'DI' } : {}),
    detail: `${server.name} answers${delayed}`,
  };
}
