/**
 * Istio's standard request metrics, with Istio's names, labels and default buckets, as the
 * traffic simulator (a test stand-in for Envoy) reports them for the real Prometheus to scrape:
 * `istio_requests_total` (counter) and `istio_request_duration_milliseconds` (histogram).
 * @see https://istio.io/latest/docs/reference/config/metrics/
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import type { RequestProtocol } from './grpc.js';

export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type IstioLabel = (typeof ISTIO_LABELS)[number];
export type IstioLabels = Record<IstioLabel, string>;

/** Istio's default buckets for `istio_request_duration_milliseconds`. */
export const ISTIO_DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** One workload as the metrics name it. */
export interface WorkloadIdentity {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly serviceAccount: string;
}

export const UNKNOWN_WORKLOAD: WorkloadIdentity = {
  workload: 'unknown',
  namespace: 'unknown',
  app: 'unknown',
  version: 'unknown',
  serviceAccount: '',
};

/** One request as one proxy reports it. */
export interface RequestReport {
  readonly reporter: 'source' | 'destination';
  readonly source: WorkloadIdentity;
  /** The server workload; `UNKNOWN_WORKLOAD` when the request never reached one. */
  readonly destination: WorkloadIdentity;
  /** The service the request was for. */
  readonly service: { readonly name: string; readonly namespace: string };
  /** `0` when there was no response (downstream disconnect). */
  readonly responseCode: number;
  /** Envoy response flags, `-` when none (`FI`, `DI`, `UT`, `UF`, `NR`, `DC`, …). */
  readonly responseFlags: string;
  readonly durationMs: number;
  /** `grpc` for a request with a gRPC content type. @default 'http' */
  readonly protocol?: RequestProtocol;
  /** The gRPC status of a gRPC request's answer; undefined when there was no answer. */
  readonly grpcStatus?: number;
}

const principal = (w: WorkloadIdentity) =>
  w.serviceAccount ? `spiffe://cluster.local/ns/${w.namespace}/sa/${w.serviceAccount}` : 'unknown';

/** The label values Istio's telemetry would give this report. */
export function istioLabels(r: RequestReport, mutualTls: boolean): IstioLabels {
  const dst = r.destination;
  const known = dst.workload !== 'unknown';
  return {
    reporter: r.reporter,
    source_workload: r.source.workload,
    source_workload_namespace: r.source.namespace,
    source_principal: r.reporter === 'destination' && mutualTls ? principal(r.source) : 'unknown',
    source_app: r.source.app,
    source_version: r.source.version,
    source_canonical_service: r.source.app,
    source_canonical_revision: r.source.version,
    source_cluster: 'Kubernetes',
    destination_workload: dst.workload,
    destination_workload_namespace: dst.namespace,
    destination_principal: known && mutualTls ? principal(dst) : 'unknown',
    destination_app: dst.app,
    destination_version: dst.version,
    destination_service: `${r.service.name}.${r.service.namespace}.svc.cluster.local`,
    destination_service_name: r.service.name,
    destination_service_namespace: r.service.namespace,
    destination_canonical_service: dst.app,
    destination_canonical_revision: dst.version,
    destination_cluster: known ? 'Kubernetes' : 'unknown',
    request_protocol: r.protocol ?? 'http',
    response_code: String(r.responseCode),
    // only on gRPC requests, as Istio's stats filter; an empty label is no label to Prometheus
    grpc_response_status: r.protocol === 'grpc' && r.grpcStatus !== undefined ? String(r.grpcStatus) : '',
    response_flags: r.responseFlags,
    connection_security_policy:
      r.reporter === 'destination' ? (mutualTls ? 'mutual_tls' : 'none') : 'unknown',
  };
}

/** The two metrics in a registry of their own, and a `/metrics` page on 127.0.0.1. */
export class IstioMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<IstioLabel>;
  private readonly duration: Histogram<IstioLabel>;
  private server: Server | undefined;

  constructor(private readonly mutualTls: boolean) {
    this.requests = new Counter({
      name: 'istio_requests_total',
      help: 'Requests handled by an Istio proxy (reported by the traffic simulator, a test stand-in for Envoy)',
      labelNames: ISTIO_LABELS,
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Request duration in milliseconds (reported by the traffic simulator, a test stand-in for Envoy)',
      labelNames: ISTIO_LABELS,
      buckets: ISTIO_DURATION_BUCKETS_MS,
      registers: [this.registry],
    });
  }

  record(r: RequestReport): void {
    const labels = istioLabels(r, this.mutualTls);
    this.requests.inc(labels);
    this.duration.observe(labels, r.durationMs);
  }

  /** The exposition text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves `/metrics` on 127.0.0.1 (port 0 = any free port); returns `host:port`. */
  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.text().then(
        (body) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(body);
        },
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}
