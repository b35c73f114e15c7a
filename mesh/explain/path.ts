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
import { durationMs } from '../../api/duration.js';
import { namespaceInjection } from '../model/load.js';
import { containerPortOf, lookupHost, workloadsOf } from '../model/query.js';
import type { MeshModel, Service, Workload } from '../model/types.js';
import { authorize, type AuthzResult } from './authz.js';
import {
  explain,
  hopTls,
  type Caller,
  type ExplainedDestination,
  type ExplainedFault,
  type ExplainOptions,
  type ExplainRequest,
  type Explanation,
  type HopTls,
} from './explain.js';

/** Envoy's outbound capture port (`ISTIO_REDIRECT`). */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** Envoy's inbound capture port (`ISTIO_IN_REDIRECT`). */
export const INBOUND_CAPTURE_PORT = 15006;
/** The uid (and gid) istio-proxy runs as; ISTIO_OUTPUT never captures its traffic. */
export const PROXY_UID = 1337;
/** Source address of the inbound sidecar's connection to the app (`InboundPassthroughBindIpv4`). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';
/** Ports ISTIO_INBOUND always RETURNs: HBONE, Envoy's Prometheus stats, health, the agent's status. */
export const ISTIO_INBOUND_EXCLUDED_PORTS: Readonly<Record<number, string>> = {
  15008: 'HBONE tunnel',
  15090: "Envoy's Prometheus stats",
  15021: 'health checks',
  15020: "the agent's merged metrics and status",
};

/** The pod annotations that change what iptables captures. */
export const CAPTURE_ANNOTATIONS = {
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
} as const;

/** A request to follow: an {@link ExplainRequest} plus what only the path depends on. */
export interface PathRequest extends ExplainRequest {
  /** The uid the caller's process runs as; 1337 (the proxy's) is never captured. @default - an application uid */
  readonly uid?: number;
  /** The IP the caller connects to, for the CIDR annotations. @default - the Service's `clusterIP` when the model has it */
  readonly ip?: string;
  /** Follow this subset when the route splits traffic. @default - the most likely destination */
  readonly subset?: string;
}

/** Why traffic does not go through a sidecar at some hop. */
export interface Bypass {
  readonly reason:
    | 'no-sidecar'
    | 'proxy-uid'
    | 'excluded-port'
    | 'port-not-included'
    | 'excluded-cidr'
    | 'cidr-not-included'
    | 'istio-port';
  /** Which side: the caller's outbound capture or the callee's inbound capture. */
  readonly side: 'outbound' | 'inbound';
  /** One sentence: the rule or annotation and its value. */
  readonly detail: string;
}

export type HopStatus = 'pass' | 'bypass' | 'stop';

interface HopBase {
  /** Where the hop happens: a pod and container, its iptables, its proxy listener, the wire. */
  readonly at: string;
  /** What happens, in one line. */
  readonly summary: string;
  /** The decisions and the objects that made them. */
  readonly details: readonly string[];
  /** `pass` on the usual path, `bypass` when a sidecar is skipped here, `stop` where the request ends. */
  readonly status: HopStatus;
  readonly bypass?: Bypass;
}

/** The destination the path follows. */
export interface PathDestination {
  readonly host: string;
  readonly subset?: string;
  /** Service port. */
  readonly port?: number;
  readonly probability: number;
  /** The workload the path reaches (the first of the destination's). */
  readonly workload?: string;
}

/** What the proxy that routes the request decides (the caller's sidecar on 15001, or the ingress gateway). */
export interface RouteDecision {
  /** `namespace/name`, undefined for the default route to the Service. */
  readonly virtualService?: string;
  /** `http[i]` with its name and matched block. */
  readonly rule?: string;
  readonly destination?: PathDestination;
  /** The other destinations of a split. */
  readonly alternatives: readonly PathDestination[];
  /** Envoy's upstream cluster: `outbound|<port>|<subset>|<fqdn>`. */
  readonly cluster?: string;
  readonly fault?: ExplainedFault;
  readonly timeout?: string;
  readonly retries?: Explanation['retries'];
  readonly mirror?: Explanation['mirror'];
}

export type PathHop =
  | (HopBase & {
      readonly kind: 'caller';
      readonly workload?: string;
      readonly sidecar: boolean;
      readonly target: { readonly host: string; readonly port?: number; readonly ip?: string };
    })
  | (HopBase & {
      readonly kind: 'iptables-outbound';
      /** The nat chains the SYN walks. */
      readonly chains: readonly string[];
      readonly redirectPort?: typeof OUTBOUND_CAPTURE_PORT;
    })
  | (HopBase & { readonly kind: 'sidecar-outbound'; readonly port: number; readonly route: RouteDecision })
  | (HopBase & {
      readonly kind: 'gateway';
      readonly gateway?: string;
      readonly port?: number;
      readonly route: RouteDecision;
    })
  | (HopBase & {
      readonly kind: 'transport';
      readonly encryption: 'mTLS' | 'TLS' | 'plaintext';
      readonly tls?: HopTls;
    })
  | (HopBase & {
      readonly kind: 'callee-node';
      readonly workload: string;
      /** Envoy picks the endpoint itself (EDS); without a proxy, kube-proxy's ClusterIP NAT does. */
      readonly endpointChosenBy: 'envoy' | 'kube-proxy';
    })
  | (HopBase & {
      readonly kind: 'iptables-inbound';
      readonly chains: readonly string[];
      readonly redirectPort?: typeof INBOUND_CAPTURE_PORT;
    })
  | (HopBase & {
      readonly kind: 'sidecar-inbound';
      readonly port: number;
      /** The filter chain the connection lands on; undefined when none matches. */
      readonly filterChain?: 'mTLS' | 'plaintext';
      /** The peer principal from the client certificate (mTLS only). */
      readonly principal?: string;
      readonly authorization?: AuthzResult;
    })
  | (HopBase & {
      readonly kind: 'callee';
      readonly workload: string;
      readonly port?: number;
      /** Source address the app sees. */
      readonly source: string;
    });

export type PathHopKind = PathHop['kind'];

/** How the request ends. */
export interface PathOutcome {
  readonly result:
    | 'delivered'
    | 'refused'
    | 'denied'
    | 'no-route'
    | 'unavailable'
    | 'fault'
    | 'timeout'
    | 'answered-by-proxy'
    | 'left-mesh';
  /** The HTTP status the caller sees; undefined for a connection reset. */
  readonly status?: number;
  /** Envoy's access-log response flags, as the deciding proxy logs them. */
  readonly responseFlags?: string;
  readonly detail: string;
}

export interface RequestPath {
  /** The routing / mTLS / authorization explanation the path is built on. */
  readonly explanation: Explanation;
  readonly hops: readonly PathHop[];
  /** Every sidecar the request skips, and why. */
  readonly bypasses: readonly Bypass[];
  readonly outcome: PathOutcome;
}

// ---- pod annotations and capture rules ------------------------------------------------------

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};

/** The pod template's annotations of a workload (the model keeps the object's own). */
export function podAnnotations(w: Workload): Readonly<Record<string, string>> {
  const spec = obj(w.raw.spec);
  const template =
    w.kind === 'Pod'
      ? (w.raw as Json)
      : w.kind === 'CronJob'
        ? obj(obj(obj(spec.jobTemplate).spec).template)
        : obj(spec.template);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(obj(template.metadata).annotations)))
    if (typeof v === 'string') out[k] = v;
  return out;
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const ports = (v: string | undefined) => list(v).map(Number).filter(Number.isInteger);

function ipv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((a, p) => a * 256 + p, 0);
}

/** Whether IPv4 `ip` is in `cidr`; undefined when either is unreadable (IPv6 included). */
export function inCidr(ip: string, cidr: string): boolean | undefined {
  const [base, bits = '32'] = cidr.split('/');
  const a = ipv4(ip);
  const b = ipv4(base ?? '');
  const n = Number(bits);
  if (a === undefined || b === undefined || !Number.isInteger(n) || n < 0 || n > 32) return undefined;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

/** Whether ISTIO_OUTPUT sends a connection to `ip:port` to ISTIO_REDIRECT, or why not. */
export function outboundCapture(
  annotations: Readonly<Record<string, string>>,
  port: number | undefined,
  ip: string | undefined,
  uid: number | undefined,
): { captured: true; notes: string[] } | { captured: false; bypass: Bypass } {
  const a = CAPTURE_ANNOTATIONS;
  const notes: string[] = [];
  const side = 'outbound' as const;
  if (port !== undefined && ports(annotations[a.excludeOutboundPorts]).includes(port))
    return {
      captured: false,
      bypass: {
        reason: 'excluded-port',
        side,
        detail: `${a.excludeOutboundPorts}: "${annotations[a.excludeOutboundPorts]}" → ISTIO_OUTPUT -p tcp --dport ${port} -j RETURN`,
      },
    };
  if (uid === PROXY_UID)
    return {
      captured: false,
      bypass: {
        reason: 'proxy-uid',
        side,
        detail: `uid ${PROXY_UID} is istio-proxy's own → ISTIO_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN`,
      },
    };
  if (port !== undefined && ports(annotations[a.includeOutboundPorts]).includes(port)) {
    notes.push(`${a.includeOutboundPorts} includes ${port}: captured whatever the IP`);
    return { captured: true, notes };
  }
  const exclude = list(annotations[a.excludeOutboundIPRanges]);
  const includeRaw = annotations[a.includeOutboundIPRanges];
  const include = includeRaw === undefined ? ['*'] : list(includeRaw);
  const ranged = exclude.length > 0 || !include.includes('*');
  if (ranged && ip === undefined) {
    notes.push(
      `the pod sets ${exclude.length ? a.excludeOutboundIPRanges : a.includeOutboundIPRanges} but the destination IP is unknown (no clusterIP in the model; pass ip): assumed captured`,
    );
    return { captured: true, notes };
  }
  if (ip !== undefined) {
    const hit = exclude.find((c) => inCidr(ip, c));
    if (hit)
      return {
        captured: false,
        bypass: {
          reason: 'excluded-cidr',
          side,
          detail: `${a.excludeOutboundIPRanges}: "${annotations[a.excludeOutboundIPRanges]}" → ISTIO_OUTPUT -d ${hit} -j RETURN (${ip})`,
        },
      };
    if (!include.includes('*') && !include.some((c) => inCidr(ip, c)))
      return {
        captured: false,
        bypass: {
          reason: 'cidr-not-included',
          side,
          detail: `${a.includeOutboundIPRanges}: "${includeRaw ?? ''}" does not cover ${ip}: no ISTIO_OUTPUT rule redirects it`,
        },
      };
  }
  return { captured: true, notes };
}

/** Whether ISTIO_INBOUND sends a connection to `port` to ISTIO_IN_REDIRECT, or why not. */
export function inboundCapture(
  annotations: Readonly<Record<string, string>>,
  port: number | undefined,
): { captured: true } | { captured: false; bypass: Bypass } {
  const a = CAPTURE_ANNOTATIONS;
  const side = 'inbound' as const;
  if (port === undefined) return { captured: true };
  const istio = ISTIO_INBOUND_EXCLUDED_PORTS[port];
  if (istio)
    return {
      captured: false,
      bypass: {
        reason: 'istio-port',
        side,
        detail: `${port} is Istio's own (${istio}) → ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`,
      },
    };
  const include = annotations[a.includeInboundPorts];
  if (include !== undefined && include.trim() !== '*' && !ports(include).includes(port))
    return {
      captured: false,
      bypass: {
        reason: 'port-not-included',
        side,
        detail: `${a.includeInboundPorts}: "${include}" does not list ${port}: ISTIO_INBOUND does not redirect it`,
      },
    };
  if (ports(annotations[a.excludeInboundPorts]).includes(port))
    return {
      captured: false,
      bypass: {
        reason: 'excluded-port',
        side,
        detail: `${a.excludeInboundPorts}: "${annotations[a.excludeInboundPorts]}" → ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`,
      },
    };
  return { captured: true };
}

// ---- the path ------------------------------------------------------------------------------

const pctText = (p: number) => `${Math.round(p * 1000) / 10}%`;

function callerWorkload(model: MeshModel, caller: Caller): Workload | undefined {
  if (caller.ingress || caller.namespace === undefined) return undefined;
  return (
    model.workloads.find((w) => `${w.kind} ${w.namespace}/${w.name}` === caller.description) ??
    model.workloads.find(
      (w) => w.namespace === caller.namespace && caller.principal?.endsWith(`/sa/${w.serviceAccountName}`),
    )
  );
}

function noSidecarWhy(model: MeshModel, w: Workload): string {
  const inject = w.podLabels['sidecar.istio.io/inject'] ?? podAnnotations(w)['sidecar.istio.io/inject'];
  if (inject === 'false') return `${w.name}'s pods say sidecar.istio.io/inject: "false"`;
  const ns = model.namespaces.find((n) => n.name === w.namespace);
  const mode = ns ? namespaceInjection(ns.labels) : 'namespace';
  if (mode === 'off')
    return `namespace ${w.namespace} has istio-injection: ${ns!.labels['istio-injection']}${inject === 'true' ? ', which a pod cannot override' : ''}`;
  if (mode === 'pod')
    return `namespace ${w.namespace} has no istio-injection or istio.io/rev label, and ${w.name}'s pods are not labelled sidecar.istio.io/inject: "true"`;
  return `namespace ${w.namespace} is not enabled for injection`;
}

const clusterName = (port: number | undefined, subset: string | undefined, host: string) =>
  `outbound|${port ?? ''}|${subset ?? ''}|${host}`;

const rbacFlag = (a: AuthzResult) => {
  if (a.rule === undefined) return 'rbac_access_denied_matched_policy[none]';
  const [ns, name] = (a.policy ?? '/').split('/');
  return `rbac_access_denied_matched_policy[ns[${ns}]-policy[${name}]-rule[${a.rule}]]`;
};

function toPathDestination(d: ExplainedDestination): PathDestination {
  return {
    host: d.host,
    ...(d.subset ? { subset: d.subset } : {}),
    ...(d.port !== undefined ? { port: d.port } : {}),
    probability: d.probability,
    ...(d.workloads[0] ? { workload: d.workloads[0] } : {}),
  };
}

/**
 * The hop-by-hop path of one request. Throws {@link ExplainError} only for a caller the model
 * does not have.
 */
export function explainPath(
  model: MeshModel,
  request: PathRequest,
  options: ExplainOptions = {},
): RequestPath {
  const e = explain(model, request, options);
  const caller = e.caller;
  const hops: PathHop[] = [];
  const bypasses: Bypass[] = [];
  const done = (outcome: PathOutcome): RequestPath => ({ explanation: e, hops, bypasses, outcome });

  const reg = lookupHost(model, e.host);
  const service: Service | undefined = reg?.type === 'service' ? reg.service : undefined;
  const servicePort = caller.ingress ? undefined : (request.port ?? service?.ports[0]?.port);
  const clusterIp = (() => {
    const ip = obj(service?.raw.spec).clusterIP;
    return typeof ip === 'string' && ip !== 'None' && ip !== '' ? ip : undefined;
  })();
  const ip = request.ip ?? clusterIp;
  const cw = callerWorkload(model, caller);

  // 1. The caller's container (or the ingress gateway, a proxy of its own).
  let proxied: boolean; // whether a proxy on the caller's side routes the request
  if (caller.ingress) {
    proxied = true;
  } else {
    const name = cw?.name ?? (caller.namespace ? caller.description : 'the client');
    hops.push({
      kind: 'caller',
      at: cw ? `${cw.name} app container` : caller.description,
      summary: `connects to ${e.host}${servicePort !== undefined ? `:${servicePort}` : ''}${ip ? ` (${ip})` : service ? ' (the Service ClusterIP)' : ''}`,
      details: [
        cw
          ? caller.sidecar
            ? `${cw.name} has an istio-proxy sidecar; its istio-init (or the CNI) installed the ISTIO_* nat chains`
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
    // 2. nat OUTPUT in the caller's pod.
    const chains = ['OUTPUT', 'ISTIO_OUTPUT'];
    if (!caller.sidecar) {
      const bypass: Bypass = {
        reason: 'no-sidecar',
        side: 'outbound',
        detail: cw ? noSidecarWhy(model, cw) : `${caller.description} has no sidecar`,
      };
      bypasses.push(bypass);
      hops.push({
        kind: 'iptables-outbound',
        at: cw ? `${cw.name} iptables nat OUTPUT` : `${caller.description}: no sidecar, no ISTIO_* chains`,
        summary: 'no ISTIO_OUTPUT chain: the connection leaves the pod as the app opened it',
        details: ['no route, fault, retry or mTLS of the mesh applies to it'],
        status: 'bypass',
        bypass,
        chains: ['OUTPUT'],
      });
      proxied = false;
    } else {
      const cap = outboundCapture(cw ? podAnnotations(cw) : {}, servicePort, ip, request.uid);
      if (cap.captured) {
        hops.push({
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
        proxied = true;
      } else {
        bypasses.push(cap.bypass);
        hops.push({
          kind: 'iptables-outbound',
          at: `${cw?.name ?? 'caller'} iptables nat OUTPUT`,
          summary: 'OUTPUT → ISTIO_OUTPUT → RETURN: not redirected, the sidecar is bypassed',
          details: [cap.bypass.detail, 'no route, fault, retry or mTLS of the mesh applies to it'],
          status: 'bypass',
          bypass: cap.bypass,
          chains,
        });
        proxied = false;
      }
    }
  }

  // 3. The routing proxy: the caller's sidecar on 15001, or the ingress gateway.
  let dest: ExplainedDestination | undefined;
  let server: Workload | undefined;
  let tls: HopTls | undefined;
  let authz: AuthzResult | undefined;
  const effectiveCaller: Caller = proxied ? caller : { ...caller, sidecar: false };
  let kubeProxyPool: string[] = [];
  if (proxied) {
    const byProbability = [...e.destinations].sort((a, b) => b.probability - a.probability);
    dest =
      (request.subset !== undefined ? e.destinations.find((d) => d.subset === request.subset) : undefined) ??
      byProbability[0];
    const route: RouteDecision = {
      ...(e.virtualService ? { virtualService: e.virtualService } : {}),
      ...(e.route
        ? {
            rule: `http[${e.route.index}]${e.route.name ? ` '${e.route.name}'` : ''}${e.route.match !== undefined ? ` match[${e.route.match}]` : ''}`,
          }
        : {}),
      ...(dest ? { destination: toPathDestination(dest) } : {}),
      alternatives: e.destinations.filter((d) => d !== dest).map(toPathDestination),
      ...(dest
        ? {
            cluster: clusterName(
              dest.port ?? (caller.ingress ? undefined : servicePort),
              dest.subset,
              dest.host,
            ),
          }
        : {}),
      ...(e.fault ? { fault: e.fault } : {}),
      ...(e.timeout ? { timeout: e.timeout } : {}),
      ...(e.retries ? { retries: e.retries } : {}),
      ...(e.mirror ? { mirror: e.mirror } : {}),
    };
    const details: string[] = [];
    details.push(
      e.virtualService
        ? `VirtualService ${e.virtualService}${route.rule ? ` ${route.rule}` : ''}`
        : `no VirtualService for ${e.host}: the default route to the Service`,
    );
    if (dest)
      details.push(
        `→ ${dest.host}${dest.subset ? ` subset ${dest.subset}` : ''} (${pctText(dest.probability)})${dest.workloads.length ? `: ${dest.workloads.join(', ')}` : ''}, cluster ${route.cluster}`,
      );
    for (const d of e.destinations.filter((x) => x !== dest))
      details.push(
        `  or ${d.host}${d.subset ? ` subset ${d.subset}` : ''} (${pctText(d.probability)}), not followed here`,
      );
    if (e.fault?.delay)
      details.push(`fault: delay ${e.fault.delay.fixedDelay} on ${e.fault.delay.percentage}% (flag DI)`);
    if (e.fault?.abort)
      details.push(`fault: abort HTTP ${e.fault.abort.httpStatus} on ${e.fault.abort.percentage}% (flag FI)`);
    if (e.timeout) details.push(`timeout ${e.timeout}`);
    if (e.retries)
      details.push(
        `retries ${e.retries.attempts}${e.retries.perTryTimeout ? ` × ${e.retries.perTryTimeout}` : ''}${e.retries.retryOn ? ` on ${e.retries.retryOn}` : ''}`,
      );
    if (e.mirror)
      details.push(
        `mirror ${e.mirror.percentage}% to ${e.mirror.host}${e.mirror.subset ? ` subset ${e.mirror.subset}` : ''} (fire and forget)`,
      );
    if (!caller.ingress)
      details.push(
        `Envoy's own connection to the endpoint runs as uid ${PROXY_UID}: ISTIO_OUTPUT RETURNs it, so it is not captured again`,
      );
    for (const n of e.notes) details.push(`note: ${n}`);

    const summary = dest
      ? `${e.virtualService ? `VirtualService ${e.virtualService}` : 'default route'} → ${dest.host}${dest.subset ? ` subset ${dest.subset}` : ''}${dest.workloads[0] ? ` (${dest.workloads[0]})` : ''}`
      : e.virtualService
        ? `VirtualService ${e.virtualService}: no rule matches`
        : `no route for ${e.host}`;
    const stop = (outcome: PathOutcome): RequestPath => {
      const last = hops[hops.length - 1]!;
      hops[hops.length - 1] = { ...last, status: 'stop' };
      return done(outcome);
    };
    if (caller.ingress) {
      hops.push({
        kind: 'gateway',
        at: `${caller.description} (Envoy, ${caller.namespace})`,
        summary,
        details: [
          `listener :${request.port ?? 'the Gateway server port'}${e.gateway ? `, Gateway ${e.gateway}` : ''}; the gateway is a proxy itself, no iptables capture`,
          ...details,
        ],
        status: 'pass',
        ...(e.gateway ? { gateway: e.gateway } : {}),
        ...(request.port !== undefined ? { port: request.port } : {}),
        route,
      });
    } else {
      hops.push({
        kind: 'sidecar-outbound',
        at: `${cw?.name ?? 'caller'} istio-proxy :${OUTBOUND_CAPTURE_PORT}`,
        summary,
        details: [
          `outbound listener (virtualOutbound) hands the connection to the ${e.host}:${servicePort ?? ''} route`,
          ...details,
        ],
        status: 'pass',
        port: OUTBOUND_CAPTURE_PORT,
        route,
      });
    }
    if (e.noRoute)
      return stop({
        result: 'no-route',
        status: 404,
        responseFlags: 'NR',
        detail: e.notes[0] ?? 'no route matches',
      });
    if (e.directResponse !== undefined)
      return stop({
        result: 'answered-by-proxy',
        status: e.directResponse,
        detail: 'the route answers with a direct response',
      });
    if (e.redirect)
      return stop({
        result: 'answered-by-proxy',
        status: Number((e.redirect as { redirectCode?: number }).redirectCode ?? 301),
        detail: `the route redirects: ${JSON.stringify(e.redirect)}`,
      });
    if (!dest)
      return stop({
        result: 'unavailable',
        status: 503,
        responseFlags: 'NR',
        detail: 'the route has no destination',
      });
    if (dest.problem)
      return stop({
        result: 'unavailable',
        status: 503,
        responseFlags: /\(503 (\w+)\)/.exec(dest.problem)?.[1] ?? 'NR',
        detail: dest.problem,
      });
    if (e.fault?.abort && e.fault.abort.percentage >= 100)
      return stop({
        result: 'fault',
        status: e.fault.abort.httpStatus,
        responseFlags: 'FI',
        detail: `the route aborts every request with HTTP ${e.fault.abort.httpStatus}; it never leaves the pod`,
      });
    const delay = durationMs(e.fault?.delay?.fixedDelay);
    const timeout = durationMs(e.timeout);
    if (
      e.fault?.delay &&
      e.fault.delay.percentage >= 100 &&
      delay !== undefined &&
      timeout !== undefined &&
      timeout <= delay
    )
      return stop({
        result: 'timeout',
        status: 504,
        responseFlags: 'DI,UT',
        detail: `the ${e.fault.delay.fixedDelay} delay outlasts the ${e.timeout} route timeout`,
      });
    if (!dest.workloads.length)
      return stop({
        result: 'left-mesh',
        detail: `${dest.host} is a ServiceEntry: the request leaves the mesh from here`,
      });
    server = model.workloads.find(
      (w) => w.name === dest!.workloads[0] && w.namespace === dest!.host.split('.')[1],
    );
    tls = dest.tls;
    authz = dest.authorization;
  } else {
    // kube-proxy's DNAT: any pod of the Service, whatever the routes say.
    if (!service) {
      return done({
        result: 'unavailable',
        detail: `${e.host} is not a Service of the model: the connection is not followed further`,
      });
    }
    const all = workloadsOf(model, service);
    server = all[0];
    if (!server)
      return done({
        result: 'unavailable',
        detail: `no workload behind ${service.namespace}/${service.name}`,
      });
    kubeProxyPool = all.map((w) => w.name);
  }

  const destReg = dest ? lookupHost(model, dest.host) : reg;
  const destService = destReg?.type === 'service' ? destReg.service : service;
  const targetPort = destService ? containerPortOf(destService, dest?.port ?? servicePort) : undefined;
  const serverAnn = podAnnotations(server!);
  const inbound = server!.sidecar ? inboundCapture(serverAnn, targetPort) : undefined;
  const inboundProxied = server!.sidecar && inbound?.captured === true;
  // The TLS the hop really uses: recomputed when no proxy routes the request.
  if (!proxied || !tls) {
    tls = hopTls(model, effectiveCaller, server!, undefined, undefined, servicePort, targetPort);
    const skipped = bypasses.find((b) => b.side === 'outbound');
    if (caller.sidecar && skipped)
      tls = { ...tls, clientDecidedBy: `the caller's sidecar is bypassed (${skipped.reason})` };
  }
  const clientTls = tls.client !== 'DISABLE';

  // 4. The wire.
  const encryption: 'mTLS' | 'TLS' | 'plaintext' =
    tls.client === 'ISTIO_MUTUAL' ? 'mTLS' : tls.client === 'DISABLE' ? 'plaintext' : 'TLS';
  hops.push({
    kind: 'transport',
    at: `${caller.ingress ? 'ingress gateway' : (cw?.name ?? 'client')} → ${server!.name}`,
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

  // 5. The callee's pod on its node: the endpoint Envoy chose, or kube-proxy's pick.
  hops.push(
    proxied
      ? {
          kind: 'callee-node',
          at: `${server!.name} pod, on its node`,
          summary: `to the pod IP of ${server!.name}:${targetPort ?? '?'}`,
          details: [
            `the endpoint comes from Envoy's EDS for ${dest!.subset ? `subset ${dest!.subset}` : 'the Service'}; kube-proxy's ClusterIP NAT is not involved`,
          ],
          status: 'pass',
          workload: server!.name,
          endpointChosenBy: 'envoy',
        }
      : {
          kind: 'callee-node',
          at: `${server!.name} pod, on its node`,
          summary: `kube-proxy DNATs the ClusterIP to any pod of ${service!.name} (${kubeProxyPool.join(', ')}); followed: ${server!.name}:${targetPort ?? '?'}`,
          details: [
            'no proxy on the caller side: VirtualService routes, subsets, faults, timeouts and retries do not apply',
          ],
          status: 'pass',
          workload: server!.name,
          endpointChosenBy: 'kube-proxy',
        },
  );

  // 6. nat PREROUTING in the callee's pod.
  if (!server!.sidecar) {
    const bypass: Bypass = { reason: 'no-sidecar', side: 'inbound', detail: noSidecarWhy(model, server!) };
    bypasses.push(bypass);
    hops.push({
      kind: 'iptables-inbound',
      at: `${server!.name} iptables nat PREROUTING`,
      summary: 'no ISTIO_INBOUND chain: straight to the app',
      details: ['no PeerAuthentication, AuthorizationPolicy or EnvoyFilter of the mesh is enforced on it'],
      status: 'bypass',
      bypass,
      chains: ['PREROUTING'],
    });
  } else if (inbound && !inbound.captured) {
    bypasses.push(inbound.bypass);
    hops.push({
      kind: 'iptables-inbound',
      at: `${server!.name} iptables nat PREROUTING`,
      summary: 'PREROUTING → ISTIO_INBOUND → RETURN: not redirected, the sidecar is bypassed',
      details: [
        inbound.bypass.detail,
        'no PeerAuthentication or AuthorizationPolicy is enforced on this port',
      ],
      status: 'bypass',
      bypass: inbound.bypass,
      chains: ['PREROUTING', 'ISTIO_INBOUND'],
    });
    if (clientTls) {
      hops[hops.length - 1] = { ...hops[hops.length - 1]!, status: 'stop' };
      return done({
        result: 'refused',
        status: 503,
        responseFlags: 'UF',
        detail: `the caller's proxy speaks ${tls.client} but port ${targetPort} reaches the app directly, which expects plain text: the handshake fails (a DestinationRule with tls DISABLE for this port fixes it)`,
      });
    }
  } else {
    hops.push({
      kind: 'iptables-inbound',
      at: `${server!.name} iptables nat PREROUTING`,
      summary: `PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT → REDIRECT to :${INBOUND_CAPTURE_PORT}`,
      details: [
        `port ${targetPort ?? '?'} is not one of Istio's own (${Object.keys(ISTIO_INBOUND_EXCLUDED_PORTS).join(', ')}) nor excluded by the pod's annotations`,
      ],
      status: 'pass',
      chains: ['PREROUTING', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT'],
      redirectPort: INBOUND_CAPTURE_PORT,
    });
  }

  // 7. The callee's sidecar on 15006.
  if (inboundProxied) {
    const at = `${server!.name} istio-proxy :${INBOUND_CAPTURE_PORT}`;
    if (!tls.ok) {
      const strict = tls.server === 'STRICT';
      hops.push({
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
      return done(
        strict
          ? {
              result: 'refused',
              ...(caller.sidecar && proxied ? { status: 503 } : {}),
              responseFlags: 'NR filter_chain_not_found',
              detail: `${server!.name}'s proxy logs "- - -" 0 NR filter_chain_not_found; ${
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
            },
      );
    }
    const mutual = tls.mutual;
    if (!proxied || !authz) {
      authz = authorize(model, server!, {
        method: e.request.method,
        path: e.request.path.split('?')[0]!,
        host: request.host,
        ...(targetPort !== undefined ? { port: targetPort } : {}),
        headers: e.request.headers,
      });
    }
    const denied = authz.decision === 'DENY';
    hops.push({
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
      return done({
        result: 'denied',
        status: 403,
        responseFlags: rbacFlag(authz),
        detail: `RBAC: access denied (${authz.reason})`,
      });
    if (authz.decision === 'CUSTOM')
      return done({
        result: 'delivered',
        detail: `delivered if the external authorizer allows it (${authz.reason})`,
      });
  }

  // 8. The callee's container.
  const source = inboundProxied ? INBOUND_PASSTHROUGH_SOURCE : 'the caller pod IP';
  hops.push({
    kind: 'callee',
    at: `${server!.name} app container :${targetPort ?? '?'}`,
    summary: `receives the request from ${source}`,
    details: inboundProxied
      ? [
          `the inbound sidecar connects from ${INBOUND_PASSTHROUGH_SOURCE} to the pod IP; ISTIO_OUTPUT RETURNs -s ${INBOUND_PASSTHROUGH_SOURCE} -o lo, so it is not captured again`,
        ]
      : ['no sidecar in between: the app sees the peer address itself'],
    status: 'pass',
    workload: server!.name,
    ...(targetPort !== undefined ? { port: targetPort } : {}),
    source,
  });
  const delayed =
    e.fault?.delay && proxied
      ? ` after the ${e.fault.delay.fixedDelay} injected delay (${e.fault.delay.percentage}% of requests)`
      : '';
  return done({
    result: 'delivered',
    ...(delayed ? { responseFlags: 'DI' } : {}),
    detail: `${server!.name} answers${delayed}`,
  });
}

/** The path as text, one hop a line with its decisions below (what `cli explain --path` prints). */
export function formatPath(p: RequestPath): string {
  const r = p.explanation.request;
  const hdrs = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const lines = [
    `${r.method} ${r.host}${r.port ? `:${r.port}` : ''}${r.path}${hdrs ? ` [${hdrs}]` : ''} from ${p.explanation.caller.description}, hop by hop:`,
  ];
  const width = Math.max(...p.hops.map((h) => h.kind.length));
  p.hops.forEach((h, i) => {
    const mark = h.status === 'bypass' ? ' [bypass]' : h.status === 'stop' ? ' [stop]' : '';
    lines.push(`${String(i + 1).padStart(2)}. ${h.kind.padEnd(width)}  ${h.at}: ${h.summary}${mark}`);
    for (const d of h.details) lines.push(`${' '.repeat(width + 6)}${d}`);
  });
  const o = p.outcome;
  lines.push(
    `result: ${o.result}${o.status !== undefined ? ` ${o.status}` : ''}${o.responseFlags ? ` (${o.responseFlags})` : ''}: ${o.detail}`,
  );
  for (const b of p.bypasses) lines.push(`bypass (${b.side}, ${b.reason}): ${b.detail}`);
  return lines.join('\n');
}
