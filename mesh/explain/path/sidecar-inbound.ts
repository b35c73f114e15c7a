/** Hop 7: the callee's sidecar on 15006: the filter chain the TLS lands on, then authorization. */
import type { Workload } from '../../model/types.js';
import { authorize, type AuthzResult } from '../authz.js';
import type { HopTls } from '../explain.js';
import { INBOUND_CAPTURE_PORT, type PathOutcome } from './types.js';
import type { Ended, Reached, Walk } from './walk.js';

const rbacFlag = (a: AuthzResult) => {
  if (a.rule === undefined) return 'rbac_access_denied_matched_policy[none]';
  const [ns, name] = (a.policy ?? '/').split('/');
  return `rbac_access_denied_matched_policy[ns[${ns}]-policy[${name}]-rule[${a.rule}]]`;
};

/** No filter chain takes the connection: STRICT refuses plain text, or the TLS modes disagree. */
function refusedOutcome(w: Walk, server: Workload, tls: HopTls, proxied: boolean): PathOutcome {
  return tls.server === 'STRICT'
    ? {
        result: 'refused',
        ...(w.caller.sidecar && proxied ? { status: 503 } : {}),
        responseFlags: 'NR filter_chain_not_found',
        detail: `${server.name}'s proxy logs "- - -" 0 NR filter_chain_not_found; ${
          proxied
            ? "the caller's proxy answers 503 (upstream connection reset)"
            : 'the caller sees "Connection reset by peer"'
        }`,
      }
    : {
        result: 'refused',
        ...(proxied ? { status: 503 } : {}),
        responseFlags: 'UF',
        detail: `the server expects ${tls.server === 'DISABLE' ? 'plain text' : tls.server} and the client sends ${tls.client}`,
      };
}

/** Pushes the hop; the request goes on to the app unless refused, denied, or left to an external authorizer. */
export function inboundSidecarHop(
  w: Walk,
  reached: Reached,
  targetPort: number | undefined,
  tls: HopTls,
): Ended | undefined {
  const { model, request, e, caller } = w;
  const server = reached.server;
  const proxied = reached.by === 'envoy';
  const at = `${server.name} istio-proxy :${INBOUND_CAPTURE_PORT}`;
  if (!tls.ok) {
    const strict = tls.server === 'STRICT';
    w.hops.push({
      kind: 'sidecar-inbound',
      at,
      summary: strict
        ? `inbound listener: no filter chain for plain text on ${targetPort} (STRICT): the connection is reset`
        : `inbound listener: the ${tls.server} filter chain does not accept ${tls.client}`,
      details: [
        `mTLS ${tls.server} decided by ${tls.serverDecidedBy}`,
        `the client sends ${tls.client} (${tls.clientDecidedBy})`,
      ],
      status: 'stop',
      port: INBOUND_CAPTURE_PORT,
    });
    return { ended: refusedOutcome(w, server, tls, proxied) };
  }
  const mutual = tls.mutual;
  const authz =
    (reached.by === 'envoy' ? reached.authz : undefined) ??
    authorize(model, server, {
      method: e.request.method,
      path: e.request.path.split('?')[0]!,
      host: request.host,
      ...(targetPort !== undefined ? { port: targetPort } : {}),
      headers: e.request.headers,
    });
  const denied = authz.decision === 'DENY';
  w.hops.push({
    kind: 'sidecar-inbound',
    at,
    summary: `inbound listener, ${mutual ? 'mTLS' : 'plain-text'} filter chain, cluster inbound|${targetPort ?? ''}||: ${authz.decision}${authz.policy ? ` by ${authz.policy}` : ''}`,
    details: [
      `mTLS ${tls.server} decided by ${tls.serverDecidedBy}`,
      mutual ? `peer principal ${caller.principal ?? '(unknown)'}` : 'no peer principal (plain text)',
      `authorization: ${authz.reason}`,
    ],
    status: denied ? 'stop' : 'pass',
    port: INBOUND_CAPTURE_PORT,
    filterChain: mutual ? 'mTLS' : 'plaintext',
    ...(mutual && caller.principal ? { principal: caller.principal } : {}),
    authorization: authz,
  });
  if (denied)
    return {
      ended: {
        result: 'denied',
        status: 403,
        responseFlags: rbacFlag(authz),
        detail: `RBAC: access denied (${authz.reason})`,
      },
    };
  if (authz.decision === 'CUSTOM')
    return {
      ended: {
        result: 'delivered',
        detail: `delivered if the external authorizer allows it (${authz.reason})`,
      },
    };
  return undefined;
}
