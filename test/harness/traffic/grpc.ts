/**
 * gRPC as the traffic simulator (a test stand-in for Envoy) sees it. A gRPC call is an HTTP/2
 * POST with `content-type: application/grpc`; its outcome is the `grpc-status` the server sends
 * (in the trailers, or in the headers of a trailers-only answer), and a failed call still answers
 * HTTP 200. Where no gRPC status was sent (a proxy's own answer, a server answering plain HTTP),
 * the status is derived from the HTTP status as gRPC's HTTP-to-gRPC mapping says, which is what
 * Envoy does for the `response.grpc_status` Istio reports as `grpc_response_status`.
 * @see https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md
 * @see https://istio.io/latest/docs/reference/config/metrics/#labels
 */

/** The request protocols Istio's `request_protocol` label tells apart for HTTP traffic. */
export type RequestProtocol = 'http' | 'grpc';

/** gRPC status codes by name (the ones the simulator's tests and docs use). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC content type; `application/grpc+proto` and the like count too. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(\+|;|$)/.test(contentType.toLowerCase());
}

/** The gRPC status of an HTTP status that carried no `grpc-status` (gRPC's mapping, as Envoy applies it). */
export function grpcStatusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 200:
      return GRPC_STATUS.OK;
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** A `grpc-status` header or trailer value as a number; undefined when absent or not a status. */
export function parseGrpcStatus(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\d{1,2}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n <= 16 ? n : undefined;
}

/** Envoy's gRPC `retryOn` conditions and the status each retries. */
export const GRPC_RETRY_ON: Readonly<Record<string, number>> = {
  cancelled: GRPC_STATUS.CANCELLED,
  'deadline-exceeded': GRPC_STATUS.DEADLINE_EXCEEDED,
  internal: GRPC_STATUS.INTERNAL,
  'resource-exhausted': GRPC_STATUS.RESOURCE_EXHAUSTED,
  unavailable: GRPC_STATUS.UNAVAILABLE,
};
