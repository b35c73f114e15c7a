/**
 * What the pod's iptables capture, as istio-init (or the CNI) writes the nat chains: the rules of
 * ISTIO_OUTPUT and ISTIO_INBOUND and the `traffic.sidecar.istio.io/*` annotations that change them.
 */
import type { Workload } from '../../model/types.js';
import { CAPTURE_ANNOTATIONS, ISTIO_INBOUND_EXCLUDED_PORTS, PROXY_UID, type Bypass } from './types.js';

type Json = Record<string, unknown>;
/** `v` when it is a JSON object, else an empty one: for reading the raw objects of the model. */
export const obj = (v: unknown): Json =>
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

/** The capture rule lets the connection through untouched: the sidecar on `side` is bypassed. */
const notCaptured = (side: Bypass['side'], reason: Bypass['reason'], detail: string) =>
  ({ captured: false, bypass: { reason, side, detail } }) as const;

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
    return notCaptured(
      side,
      'excluded-port',
      `${a.excludeOutboundPorts}: "${annotations[a.excludeOutboundPorts]}" → ISTIO_OUTPUT -p tcp --dport ${port} -j RETURN`,
    );
  if (uid === PROXY_UID)
    return notCaptured(
      side,
      'proxy-uid',
      `uid ${PROXY_UID} is istio-proxy's own → ISTIO_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN`,
    );
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
      return notCaptured(
        side,
        'excluded-cidr',
        `${a.excludeOutboundIPRanges}: "${annotations[a.excludeOutboundIPRanges]}" → ISTIO_OUTPUT -d ${hit} -j RETURN (${ip})`,
      );
    if (!include.includes('*') && !include.some((c) => inCidr(ip, c)))
      return notCaptured(
        side,
        'cidr-not-included',
        `${a.includeOutboundIPRanges}: "${includeRaw ?? ''}" does not cover ${ip}: no ISTIO_OUTPUT rule redirects it`,
      );
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
    return notCaptured(
      side,
      'istio-port',
      `${port} is Istio's own (${istio}) → ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`,
    );
  const include = annotations[a.includeInboundPorts];
  if (include !== undefined && include.trim() !== '*' && !ports(include).includes(port))
    return notCaptured(
      side,
      'port-not-included',
      `${a.includeInboundPorts}: "${include}" does not list ${port}: ISTIO_INBOUND does not redirect it`,
    );
  if (ports(annotations[a.excludeInboundPorts]).includes(port))
    return notCaptured(
      side,
      'excluded-port',
      `${a.excludeInboundPorts}: "${annotations[a.excludeInboundPorts]}" → ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`,
    );
  return { captured: true };
}
