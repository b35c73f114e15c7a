/**
 * Traffic policy of an App or of one of its versions (a DestinationRule subset): load balancing,
 * connection pool limits and outlier detection (the circuit breaker), and client-side TLS.
 *
 * @see https://istio.io/latest/docs/reference/config/networking/destination-rule/#TrafficPolicy
 */
import { Duration } from 'cdk8s';
import { z } from 'zod';
import { istioDuration } from './routing.js';
import { duration, percentage } from './validation.js';

/** Envoy's simple load balancers. */
export type SimpleLoadBalancer = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST' | 'PASSTHROUGH';

/** Consistent hashing (session affinity): exactly one key. */
export type ConsistentHash =
  | { readonly httpHeaderName: string }
  | { readonly httpCookie: { readonly name: string; readonly ttl?: Duration; readonly path?: string } }
  | { readonly useSourceIp: true }
  | { readonly httpQueryParameterName: string };

export interface TrafficPolicy {
  /** `ROUND_ROBIN`, `RANDOM`, `LEAST_REQUEST`, or `{ consistentHash }`. @default - Istio's default (LEAST_REQUEST) */
  readonly loadBalancer?: SimpleLoadBalancer | { readonly consistentHash: ConsistentHash };
  /** Connection pool limits. @default - Envoy's defaults (effectively unlimited) */
  readonly connectionPool?: {
    /** Max TCP connections to a destination host. */
    readonly maxConnections?: number;
    /** TCP connect timeout. */
    readonly connectTimeout?: Duration;
    /** Max pending HTTP requests to a destination. */
    readonly http1MaxPendingRequests?: number;
    /** Max active requests to a destination (HTTP/2). */
    readonly http2MaxRequests?: number;
    /** Max requests per connection; 1 disables keep-alive. */
    readonly maxRequestsPerConnection?: number;
    /** Max outstanding retries to a destination. */
    readonly maxRetries?: number;
  };
  /** Outlier detection: eject hosts that keep failing. @default - none */
  readonly outlierDetection?: {
    /** Consecutive 5xx answers before a host is ejected. @default 5 */
    readonly consecutive5xxErrors?: number;
    /** Time between ejection sweeps. @default Duration.seconds(10) */
    readonly interval?: Duration;
    /** Minimum ejection time. @default Duration.seconds(30) */
    readonly baseEjectionTime?: Duration;
    /** Max percentage of hosts ejected. @default 10 */
    readonly maxEjectionPercent?: number;
  };
  /** Client-side TLS towards the destination. `ISTIO_MUTUAL` uses the mesh certificates. @default - auto mTLS */
  readonly tls?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
}

const count = z.number().int().min(0);

/** @internal */
export const trafficPolicySchema = z.strictObject({
  loadBalancer: z
    .union([
      z.enum(['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'PASSTHROUGH']),
      z.strictObject({
        consistentHash: z.union(
          [
            z.strictObject({ httpHeaderName: z.string().min(1) }),
            z.strictObject({
              httpCookie: z.strictObject({
                name: z.string().min(1),
                ttl: duration.optional(),
                path: z.string().optional(),
              }),
            }),
            z.strictObject({ useSourceIp: z.literal(true) }),
            z.strictObject({ httpQueryParameterName: z.string().min(1) }),
          ],
          {
            error:
              'expected exactly one of { httpHeaderName }, { httpCookie: { name, ttl?: Duration, path? } }, { useSourceIp: true } or { httpQueryParameterName }',
          },
        ),
      }),
    ])
    .optional(),
  connectionPool: z
    .strictObject({
      maxConnections: count.optional(),
      connectTimeout: duration.optional(),
      http1MaxPendingRequests: count.optional(),
      http2MaxRequests: count.optional(),
      maxRequestsPerConnection: count.optional(),
      maxRetries: count.optional(),
    })
    .optional(),
  outlierDetection: z
    .strictObject({
      consecutive5xxErrors: count.optional(),
      interval: duration.optional(),
      baseEjectionTime: duration.optional(),
      maxEjectionPercent: percentage.optional(),
    })
    .optional(),
  tls: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']).optional(),
});

/** Renders a traffic policy as a DestinationRule `trafficPolicy`; undefined when empty. */
export function renderTrafficPolicy(p: TrafficPolicy | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  if (p.loadBalancer) {
    if (typeof p.loadBalancer === 'string') out.loadBalancer = { simple: p.loadBalancer };
    else {
      const h = p.loadBalancer.consistentHash;
      out.loadBalancer = {
        consistentHash:
          'httpCookie' in h
            ? {
                httpCookie: {
                  name: h.httpCookie.name,
                  ...(h.httpCookie.path ? { path: h.httpCookie.path } : {}),
                  ...(h.httpCookie.ttl ? { ttl: istioDuration(h.httpCookie.ttl) } : {}),
                },
              }
            : h,
      };
    }
  }
  if (p.connectionPool) {
    const c = p.connectionPool;
    const tcp = {
      ...(c.maxConnections !== undefined ? { maxConnections: c.maxConnections } : {}),
      ...(c.connectTimeout ? { connectTimeout: istioDuration(c.connectTimeout) } : {}),
    };
    const http = {
      ...(c.http1MaxPendingRequests !== undefined
        ? { http1MaxPendingRequests: c.http1MaxPendingRequests }
        : {}),
      ...(c.http2MaxRequests !== undefined ? { http2MaxRequests: c.http2MaxRequests } : {}),
      ...(c.maxRequestsPerConnection !== undefined
        ? { maxRequestsPerConnection: c.maxRequestsPerConnection }
        : {}),
      ...(c.maxRetries !== undefined ? { maxRetries: c.maxRetries } : {}),
    };
    out.connectionPool = {
      ...(Object.keys(tcp).length ? { tcp } : {}),
      ...(Object.keys(http).length ? { http } : {}),
    };
  }
  if (p.outlierDetection) {
    const o = p.outlierDetection;
    out.outlierDetection = {
      consecutive5xxErrors: o.consecutive5xxErrors ?? 5,
      interval: istioDuration(o.interval ?? Duration.seconds(10)),
      baseEjectionTime: istioDuration(o.baseEjectionTime ?? Duration.seconds(30)),
      maxEjectionPercent: o.maxEjectionPercent ?? 10,
    };
  }
  if (p.tls) out.tls = { mode: p.tls };
  return Object.keys(out).length ? out : undefined;
}
