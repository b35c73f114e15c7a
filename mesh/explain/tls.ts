/** The mTLS of one hop: what the client sends (DestinationRule or auto mTLS) and what the server accepts (PeerAuthentication). */
import { effectiveMtls } from '../model/query.js';
import type { DestinationRule, MeshModel, TlsMode, Workload } from '../model/types.js';
import type { Caller, HopTls } from './types.js';

function subsetPolicyTls(
  dr: DestinationRule | undefined,
  subset: string | undefined,
  port: number | undefined,
): TlsMode | undefined {
  if (!dr) return undefined;
  const portTls = (tp: DestinationRule['trafficPolicy']) =>
    tp?.portLevelSettings?.find((s) => s.port?.number === port)?.tls?.mode;
  const s = subset ? dr.subsets.find((x) => x.name === subset) : undefined;
  return (
    portTls(s?.trafficPolicy) ??
    s?.trafficPolicy?.tls?.mode ??
    portTls(dr.trafficPolicy) ??
    dr.trafficPolicy?.tls?.mode
  );
}

/** The mTLS of a hop from `caller` to `server` (a workload) through DestinationRule `dr`. */
export function hopTls(
  model: MeshModel,
  caller: Caller,
  server: Workload,
  dr: DestinationRule | undefined,
  subset: string | undefined,
  servicePort: number | undefined,
  containerPort: number | undefined,
): HopTls {
  const srv = effectiveMtls(model, server, containerPort);
  const serverDecidedBy = srv.decidedBy
    ? `PeerAuthentication ${srv.decidedBy} (${srv.scope}${srv.scope === 'port' ? ` ${containerPort}` : ''})`
    : 'Istio default (PERMISSIVE)';
  if (server.ambient) return ztunnelTls(caller, server, srv.mode, serverDecidedBy);
  const serverMode = server.sidecar ? srv.mode : 'DISABLE';
  let client: TlsMode;
  let clientDecidedBy: string;
  const drMode = caller.sidecar ? subsetPolicyTls(dr, subset, servicePort) : undefined;
  if (!caller.sidecar) {
    client = 'DISABLE';
    clientDecidedBy = 'caller has no sidecar';
  } else if (drMode) {
    client = drMode;
    clientDecidedBy = `DestinationRule ${dr!.namespace}/${dr!.name}`;
  } else {
    client = server.sidecar && srv.mode !== 'DISABLE' ? 'ISTIO_MUTUAL' : 'DISABLE';
    clientDecidedBy = 'auto mTLS';
  }
  const mtls = client === 'ISTIO_MUTUAL';
  const ok = !server.sidecar
    ? !mtls
    : serverMode === 'STRICT'
      ? mtls
      : serverMode === 'DISABLE'
        ? client === 'DISABLE'
        : client === 'DISABLE' || mtls;
  return {
    client,
    clientDecidedBy,
    server: serverMode,
    serverDecidedBy: server.sidecar ? serverDecidedBy : `${server.name} has no sidecar`,
    mutual: mtls && ok,
    ok,
  };
}

/**
 * A hop to an ambient pod: its ztunnel accepts HBONE mTLS (port 15008) from ambient callers and
 * sidecars alike, and plain text only when its PeerAuthentication is not STRICT.
 */
function ztunnelTls(caller: Caller, server: Workload, mode: TlsMode | string, decidedBy: string): HopTls {
  const mtls = caller.sidecar || caller.ambient === true;
  const ok = mtls || mode !== 'STRICT';
  return {
    client: mtls ? 'ISTIO_MUTUAL' : 'DISABLE',
    clientDecidedBy: caller.ambient
      ? 'ztunnel (HBONE on 15008)'
      : mtls
        ? 'auto mTLS'
        : 'caller has no sidecar',
    server: mode as HopTls['server'],
    serverDecidedBy: `${decidedBy}, enforced by ztunnel on ${server.name}`,
    mutual: mtls,
    ok,
  };
}
