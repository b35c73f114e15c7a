/**
 * `calls()`: one declared edge of the call graph, its options checked against the callee's protocol
 * the way every other prop is checked, and turned into the operations an AuthorizationPolicy rule
 * allows: HTTP methods and paths, gRPC `/package.Service/Method` paths, or (TCP) ports only.
 */
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { meshOf, type MeshCall } from './mesh-scope.js';
import type { AppProtocol, ICallee, IMeshPeer, ISidecarAware, IWorkload, WorkloadPort } from './peer.js';
import { checkProps, MeshPropsError, portNumber } from './validation.js';
import { HTTP_METHODS } from '../api/http.js';

/**
 * Options of `calls()`: what the caller does on the callee, as narrowly as its protocol lets an
 * AuthorizationPolicy say it. HTTP callees take `methods` and `paths`; gRPC callees take
 * `grpcServices` and `grpcMethods`; TCP (and TLS, HTTPS) callees only `ports`, since Istio matches
 * nothing else on a connection it does not terminate.
 * @see https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation
 */
export interface CallOptions {
  /** HTTP methods the caller uses (HTTP callees). @default - any method */
  readonly methods?: readonly string[];
  /** Paths the caller uses, AuthorizationPolicy syntax: exact, `prefix*`, `*suffix` (HTTP callees). @default - any path */
  readonly paths?: readonly string[];
  /** Fully-qualified gRPC services the caller uses, every method of each: `hipstershop.CartService` (gRPC callees). @default - any */
  readonly grpcServices?: readonly string[];
  /** gRPC methods the caller uses, as `/package.Service/Method` (gRPC callees). @default - any */
  readonly grpcMethods?: readonly string[];
  /** Service ports of the callee the caller connects to. @default - every TCP port of a TCP callee; any port otherwise */
  readonly ports?: readonly number[];
}

const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const GRPC_METHOD = /^\/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/;

const callSchema = z.strictObject({
  methods: z
    .array(z.enum(HTTP_METHODS, { error: `must be an upper-case HTTP method (${HTTP_METHODS.join(', ')})` }))
    .min(1, 'list at least one method, or leave methods out for any')
    .optional(),
  paths: z
    .array(
      z
        .string()
        .refine(
          (p) => p === '*' || ((p.startsWith('/') || p.startsWith('*')) && !p.slice(1, -1).includes('*')),
          'must be a path such as /api, /api/* or *.js (one * at the start or the end)',
        ),
    )
    .min(1, 'list at least one path, or leave paths out for any')
    .optional(),
  grpcServices: z
    .array(
      z
        .string()
        .regex(GRPC_SERVICE, 'must be a fully-qualified gRPC service such as hipstershop.CartService'),
    )
    .min(1)
    .optional(),
  grpcMethods: z
    .array(
      z.string().regex(GRPC_METHOD, 'must be a gRPC method path such as /hipstershop.CartService/GetCart'),
    )
    .min(1)
    .optional(),
  ports: z.array(portNumber).min(1).optional(),
});

const HTTP: readonly AppProtocol[] = ['http', 'http2'];
const OPAQUE: readonly AppProtocol[] = ['tcp', 'tls', 'https'];

function portsOf(callee: IMeshPeer & IWorkload): readonly WorkloadPort[] {
  return (callee as Partial<ICallee>).ports ?? [];
}

/**
 * Checks `options` for a call from `from` to `to` and returns the call to record. Throws a
 * MeshPropsError naming the caller's construct path and the option at fault.
 * @internal
 */
export function declaredCall(
  from: IConstruct & IMeshPeer,
  to: IMeshPeer & IWorkload,
  options: CallOptions,
): MeshCall {
  const field = `calls(${to.name})`;
  const o = checkProps(from, callSchema, options, field);
  const fail = (option: string, message: string, received: unknown): never => {
    throw new MeshPropsError(from.node.path, [
      { field: `${field}${option ? `.${option}` : ''}`, message, received: JSON.stringify(received) },
    ]);
  };
  if ((from as Partial<ISidecarAware>).sidecar === false) {
    fail(
      '',
      `${from.name} runs without the sidecar, so it has no mTLS identity and a rule naming its principal can never match; allow it with zeroTrust.allowOutsideMesh(${to.name}, { ipBlocks }) instead`,
      from.principal,
    );
  }
  const ports = portsOf(to);
  const protocols = new Set(ports.map((p) => p.protocol));
  const has = (list: readonly AppProtocol[]) => list.some((p) => protocols.has(p));
  // A callee with no known ports (an IWorkload from elsewhere) is taken as HTTP, as Istio would sniff it.
  const http = protocols.size === 0 || has(HTTP);
  const grpc = protocols.has('grpc');
  const desc = [...protocols].join(', ') || 'http';
  if ((o.methods || o.paths) && !http) {
    const option = o.methods ? 'methods' : 'paths';
    fail(
      option,
      grpc
        ? `${to.name} speaks gRPC: name its services (grpcServices) or methods (grpcMethods, /package.Service/Method) instead of ${option}`
        : `${to.name} speaks ${desc}: Istio matches HTTP methods and paths only on HTTP, so a rule with them never matches a ${desc} connection; allow by ports only`,
      o[option],
    );
  }
  if ((o.grpcServices || o.grpcMethods) && !grpc) {
    const option = o.grpcServices ? 'grpcServices' : 'grpcMethods';
    fail(option, `${to.name} has no gRPC port (it speaks ${desc})`, o[option]);
  }
  const selected = o.ports?.map((n) => {
    const p = ports.find((q) => q.port === n);
    if (!p && ports.length)
      fail(
        'ports',
        `${to.name} has no Service port ${n} (its ports: ${ports.map((q) => q.port).join(', ')})`,
        o.ports,
      );
    return p;
  });
  const opaque = !http && !grpc && ports.length > 0 && ports.every((p) => OPAQUE.includes(p.protocol));
  const targetPorts = selected
    ? selected.map((p, i) => p?.targetPort ?? o.ports![i]!)
    : opaque
      ? ports.map((p) => p.targetPort)
      : undefined;
  const grpcPaths = [...(o.grpcServices ?? []).map((s) => `/${s}/*`), ...(o.grpcMethods ?? [])];
  const paths = [...(o.paths ?? []), ...grpcPaths];
  return {
    from,
    to,
    ...(o.methods ? { methods: o.methods } : {}),
    ...(paths.length ? { paths } : {}),
    ...(targetPorts ? { ports: [...new Set(targetPorts)] } : {}),
  };
}

/**
 * Declares a call from `from` to `to` in the Mesh of each: the caller's Mesh knows its outgoing
 * calls, the callee's Mesh derives the ALLOW rule (in the callee's namespace and chart).
 * @internal
 */
export function recordCall(
  from: IConstruct & IMeshPeer,
  to: IMeshPeer & IWorkload,
  options: CallOptions,
): void {
  meshOf(from)._recordCall(declaredCall(from, to, options));
}
