/**
 * Live traffic per arrow of the picture, from Istio's standard metrics in Prometheus: requests per
 * second, the share of 5xx answers and the p99 latency over the last minute, per caller and
 * callee Service, as the server-side proxies report them (Kiali's edge figures). The same queries
 * work against the test harness's Prometheus, which scrapes the traffic simulator.
 */
import { redactUrl } from '../../api/redact.js';

export interface EdgeTraffic {
  /** Requests per second. */
  readonly rps: number;
  /** Share of 5xx answers, 0–1; undefined without requests. */
  readonly errorRate?: number;
  /** p99 latency, ms. */
  readonly p99Ms?: number;
}

/** `from -> to` (graph node keys: `ns/name`, or `ingress`) → its traffic. */
export type TrafficByEdge = Record<string, EdgeTraffic>;

const BY =
  'source_canonical_service, source_workload_namespace, destination_service_name, destination_service_namespace';

/** The three queries for `namespaces` (already checked to be Kubernetes names). */
export function trafficQueries(
  namespaces: readonly string[],
  window = '1m',
): { rps: string; errors: string; p99: string } {
  const sel = `reporter="destination",destination_service_namespace=~"${namespaces.join('|')}"`;
  return {
    rps: `sum by (${BY}) (rate(istio_requests_total{${sel}}[${window}]))`,
    errors: `sum by (${BY}) (rate(istio_requests_total{${sel},response_code=~"5.."}[${window}]))`,
    p99: `histogram_quantile(0.99, sum by (le, ${BY}) (rate(istio_request_duration_milliseconds_bucket{${sel}}[${window}])))`,
  };
}

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** The graph's edge key of one series: the ingress gateway is `ingress`, a Service `ns/name`. */
export function edgeKeyOf(m: Record<string, string>): string {
  const src = m.source_canonical_service ?? '';
  const from = src.startsWith('istio-ingressgateway') ? 'ingress' : `${m.source_workload_namespace}/${src}`;
  return `${from} -> ${m.destination_service_namespace}/${m.destination_service_name}`;
}

/** Joins the three answers into figures per edge. */
export function joinTraffic(
  rps: readonly Sample[],
  errors: readonly Sample[],
  p99: readonly Sample[],
): TrafficByEdge {
  const num = (s: Sample) => Number(s.value[1]);
  const out: Record<string, { rps: number; errorRate?: number; p99Ms?: number }> = {};
  for (const s of rps) out[edgeKeyOf(s.metric)] = { rps: num(s) };
  for (const s of errors) {
    const e = out[edgeKeyOf(s.metric)];
    if (e && e.rps > 0) e.errorRate = num(s) / e.rps;
  }
  for (const s of rps) {
    const e = out[edgeKeyOf(s.metric)]!;
    if (e.rps > 0 && e.errorRate === undefined) e.errorRate = 0;
  }
  for (const s of p99) {
    const e = out[edgeKeyOf(s.metric)];
    const v = num(s);
    if (e && Number.isFinite(v)) e.p99Ms = v;
  }
  return out;
}

/** Runs the queries against `prometheusUrl`; a failure is a message naming the URL, never an exception. */
export async function fetchTraffic(
  prometheusUrl: string,
  namespaces: readonly string[],
  timeoutMs = 4000,
): Promise<{ ok: true; traffic: TrafficByEdge } | { ok: false; message: string }> {
  const q = trafficQueries(namespaces);
  const run = async (query: string): Promise<Sample[]> => {
    const url = new URL('api/v1/query', prometheusUrl.endsWith('/') ? prometheusUrl : `${prometheusUrl}/`);
    url.searchParams.set('query', query);
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { status?: string; error?: string; data?: { result?: Sample[] } };
    if (body.status !== 'success') throw new Error(body.error ?? `HTTP ${res.status}`);
    return body.data?.result ?? [];
  };
  try {
    const [rps, errors, p99] = await Promise.all([run(q.rps), run(q.errors), run(q.p99)]);
    return { ok: true, traffic: joinTraffic(rps, errors, p99) };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return {
      ok: false,
      message: `Prometheus at ${redactUrl(prometheusUrl)} did not answer the traffic queries (${cause ?? (e as Error).message}); check --prometheus-url`,
    };
  }
}
