/**
 * A real HTTP server on 127.0.0.1 standing for one version of a service (one workload), behind
 * the traffic simulator (a test stand-in for Envoy). The test sets its error rate and latency,
 * and may change them while traffic flows. It can call other services through the simulator,
 * the way Bookinfo's reviews calls ratings, with an application-level timeout of its own.
 *
 * A backend of a gRPC service answers as a gRPC server does: HTTP 200 with
 * `content-type: application/grpc` and a `grpc-status` (0 for OK), errors included.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GRPC_STATUS, type RequestProtocol } from './grpc.js';
import type { WorkloadIdentity } from './metrics.js';
import { seededRandom, type Random } from './rng.js';

/** How a backend answers; every field can be changed at run time with `Backend.set`. */
export interface BackendBehaviour {
  /** Fraction of requests answered with `errorStatus`, from 0 to 1. @default 0 */
  readonly errorRate: number;
  /** HTTP status of the error answers of an HTTP backend. @default 500 */
  readonly errorStatus: number;
  /**
   * gRPC status of the error answers of a gRPC backend, sent with HTTP 200 as gRPC servers do
   * (1–16). @default 2 (UNKNOWN, what a gRPC server answers when the handler fails)
   */
  readonly errorGrpcStatus: number;
  /** Time before answering, in milliseconds. @default 0 */
  readonly latencyMs: number;
  /** A uniformly random extra time in [0, latencyJitterMs) added to `latencyMs`. @default 0 */
  readonly latencyJitterMs: number;
}

/** A call this backend makes to another service, through the simulator, for each request. */
export interface UpstreamCall {
  /** The service, as the application writes it (`ratings`). */
  readonly host: string;
  /** @default '/' */
  readonly path?: string;
  /**
   * The application's own client timeout (like Bookinfo's hard-coded ones); past it the
   * application gives up on the call. @default - waits as long as the simulator's route allows
   */
  readonly timeoutMs?: number;
}

export interface BackendOptions extends Partial<BackendBehaviour> {
  /** Service name (the Kubernetes Service and the `app` label), e.g. `reviews`. */
  readonly service: string;
  readonly namespace: string;
  /** The `version` label, e.g. `v2`. */
  readonly version: string;
  /** @default `${service}-${version}` (the Deployment name) */
  readonly workload?: string;
  /** @default service */
  readonly serviceAccount?: string;
  /** Extra pod labels; `app` and `version` are always set. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Calls made to other services for every request; a failed call makes this answer 500. @default [] */
  readonly calls?: readonly UpstreamCall[];
  /** Seed of the error draws. @default - from the clock */
  readonly seed?: number;
  /** `grpc`: answers as a gRPC server (HTTP 200 and a `grpc-status`). @default 'http' */
  readonly protocol?: RequestProtocol;
}

/** What the caller of an upstream call got: HTTP status (0 = none) and, for gRPC, the gRPC status. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly grpcStatus?: number;
}

/** How the simulator carries out an upstream call for a backend. */
export type UpstreamCaller = (
  from: Backend,
  call: UpstreamCall,
  headers: Record<string, string>,
  signal: AbortSignal,
) => Promise<UpstreamAnswer>;

const PROPAGATED_HEADERS = [
  'end-user',
  'cookie',
  'user-agent',
  'x-request-id',
  'traceparent',
  'x-b3-traceid',
];

export class Backend {
  readonly identity: WorkloadIdentity;
  readonly labels: Readonly<Record<string, string>>;
  readonly calls: readonly UpstreamCall[];
  readonly protocol: RequestProtocol;
  /** Requests received, mirrored copies included. */
  received = 0;
  /** Mirrored copies received (authority ending in `-shadow`). */
  receivedShadow = 0;
  private behaviour: BackendBehaviour;
  private readonly random: Random;
  private server: Server | undefined;
  private port = 0;

  private constructor(
    opts: BackendOptions,
    private readonly upstream: UpstreamCaller | undefined,
  ) {
    const workload = opts.workload ?? `${opts.service}-${opts.version}`;
    this.identity = {
      workload,
      namespace: opts.namespace,
      app: opts.service,
      version: opts.version,
      serviceAccount: opts.serviceAccount ?? opts.service,
    };
    this.labels = { ...opts.labels, app: opts.service, version: opts.version };
    this.calls = opts.calls ?? [];
    this.protocol = opts.protocol ?? 'http';
    this.behaviour = {
      errorRate: opts.errorRate ?? 0,
      errorStatus: opts.errorStatus ?? 500,
      errorGrpcStatus: opts.errorGrpcStatus ?? GRPC_STATUS.UNKNOWN,
      latencyMs: opts.latencyMs ?? 0,
      latencyJitterMs: opts.latencyJitterMs ?? 0,
    };
    checkBehaviour(this.behaviour, workload);
    this.random = seededRandom(opts.seed ?? Date.now());
  }

  /** Starts the server on 127.0.0.1 on a free port. */
  static async start(opts: BackendOptions, upstream?: UpstreamCaller): Promise<Backend> {
    const b = new Backend(opts, upstream);
    const server = createServer((req, res) => void b.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    b.server = server;
    b.port = (server.address() as AddressInfo).port;
    return b;
  }

  get service(): string {
    return this.identity.app;
  }
  get version(): string {
    return this.identity.version;
  }
  get workload(): string {
    return this.identity.workload;
  }
  /** Where it listens (after `close()`, the same port, now refusing connections). */
  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }
  get running(): boolean {
    return this.server !== undefined;
  }

  /** The current behaviour. */
  get current(): BackendBehaviour {
    return this.behaviour;
  }

  /** Changes how the backend answers from the next request on. */
  set(change: Partial<BackendBehaviour>): void {
    const next = { ...this.behaviour, ...change };
    checkBehaviour(next, this.identity.workload);
    this.behaviour = next;
  }

  /** Stops listening: new connections are refused, as with a crashed pod. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.received++;
    if ((req.headers.host ?? '').split(':')[0]!.endsWith('-shadow')) this.receivedShadow++;
    req.resume();
    const b = this.behaviour;
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    let upstreamFailed: string | undefined;
    if (this.upstream) {
      const headers: Record<string, string> = {};
      for (const h of PROPAGATED_HEADERS) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      for (const call of this.calls) {
        const signal = call.timeoutMs
          ? AbortSignal.any([gone.signal, AbortSignal.timeout(call.timeoutMs)])
          : gone.signal;
        const { status, grpcStatus } = await this.upstream(this, call, headers, signal);
        if (status === 0 || status >= 500 || (grpcStatus !== undefined && grpcStatus !== 0)) {
          upstreamFailed = `${call.host} answered ${status === 0 ? 'nothing' : status}${grpcStatus ? ` grpc-status ${grpcStatus}` : ''}`;
          break;
        }
      }
    }
    const wait = b.latencyMs + (b.latencyJitterMs > 0 ? this.random() * b.latencyJitterMs : 0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (res.destroyed) return;
    const failed = upstreamFailed !== undefined || this.random() < b.errorRate;
    if (this.protocol === 'grpc') {
      // a trailers-only answer: the status travels in the headers, always with HTTP 200
      res.writeHead(200, {
        'content-type': 'application/grpc',
        'grpc-status': String(failed ? b.errorGrpcStatus : GRPC_STATUS.OK),
        ...(upstreamFailed ? { 'grpc-message': encodeURIComponent(upstreamFailed) } : {}),
        'x-simulated-workload': this.identity.workload,
      });
      res.end();
      return;
    }
    const status = upstreamFailed !== undefined ? 500 : failed ? b.errorStatus : 200;
    const body = JSON.stringify({
      service: this.identity.app,
      version: this.identity.version,
      workload: this.identity.workload,
      ...(upstreamFailed ? { error: upstreamFailed } : {}),
    });
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-simulated-workload': this.identity.workload,
    });
    res.end(body);
  }
}

function checkBehaviour(b: BackendBehaviour, workload: string): void {
  const problems: string[] = [];
  if (!(b.errorRate >= 0 && b.errorRate <= 1))
    problems.push(`errorRate ${b.errorRate} must be within [0, 1]`);
  if (!(Number.isInteger(b.errorStatus) && b.errorStatus >= 400 && b.errorStatus <= 599)) {
    problems.push(`errorStatus ${b.errorStatus} must be an HTTP error status (400–599)`);
  }
  if (!(Number.isInteger(b.errorGrpcStatus) && b.errorGrpcStatus >= 1 && b.errorGrpcStatus <= 16)) {
    problems.push(`errorGrpcStatus ${b.errorGrpcStatus} must be a gRPC error status (1–16)`);
  }
  if (!(b.latencyMs >= 0 && b.latencyMs <= 60_000))
    problems.push(`latencyMs ${b.latencyMs} must be within [0, 60000]`);
  if (!(b.latencyJitterMs >= 0 && b.latencyJitterMs <= 60_000)) {
    problems.push(`latencyJitterMs ${b.latencyJitterMs} must be within [0, 60000]`);
  }
  if (problems.length > 0) throw new Error(`backend ${workload}: ${problems.join('; ')}`);
}
