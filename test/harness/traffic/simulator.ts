/**
 * The traffic simulator: a test stand-in for Envoy (which cannot be installed here), never a data
 * plane. It routes each request as the live VirtualService and DestinationRule on the real
 * apiserver say (ordered routes, matches, weights, mirrors, fault delay/abort, timeout, retries),
 * sends it over real HTTP to the backend of the chosen subset, and reports Istio's standard
 * metrics, as both the client (`reporter="source"`) and server (`reporter="destination"`) proxies
 * would, on a `/metrics` page for the real Prometheus. Loopback only; load is bounded in rate and
 * time and stops by itself.
 *
 * A request to a gRPC service (or with a gRPC content type) is a gRPC call: POST with
 * `content-type: application/grpc`, reported with `request_protocol="grpc"` and the answer's
 * `grpc_response_status`. The simulator's own answers to a gRPC call (fault abort, no route, no
 * healthy upstream, timeout) are HTTP 200 with the gRPC status of the HTTP one, as Envoy's local
 * replies to gRPC callers are.
 */
import type * as k8s from '@kubernetes/client-node';
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Backend, type BackendOptions, type UpstreamAnswer, type UpstreamCall } from './backend.js';
import { LiveIstioConfig, type WatchedKind } from './config.js';
import { grpcStatusOfHttp, isGrpcContentType, parseGrpcStatus, type RequestProtocol } from './grpc.js';
import { IstioMetrics, UNKNOWN_WORKLOAD, type WorkloadIdentity } from './metrics.js';
import { seededRandom, type Random } from './rng.js';
import {
  decideRoute,
  isRetriable,
  qualifyHost,
  subsetLabels,
  type Destination,
  type MeshConfig,
  type RetryPolicy,
  type RouteRef,
} from './routing.js';

/** One service and its versions (one backend each). */
export interface SimulatedService {
  /** Service name, e.g. `reviews`. */
  readonly name: string;
  /** @default the simulator's namespace */
  readonly namespace?: string;
  /** One backend per version. */
  readonly versions: readonly Omit<BackendOptions, 'service' | 'namespace' | 'protocol'>[];
  /**
   * `grpc`: callers send gRPC calls (POST, `content-type: application/grpc`) and the backends
   * answer as gRPC servers (HTTP 200 and a `grpc-status`). @default 'http'
   */
  readonly protocol?: RequestProtocol;
  /**
   * Each version is also behind a Service of its own, `<name>-<version>` (`reviews-v2`), the
   * backendRef of an HTTPRoute or GRPCRoute rule: the Gateway API has no subsets, and the
   * constructs synthesize one Service per version. @default false
   */
  readonly versionServices?: boolean;
}

/** The workload that sends the load (the caller, as Istio's `source_*` labels name it). */
export interface SourceOptions {
  /** @default 'loadgen' */
  readonly workload?: string;
  /** @default the simulator's namespace */
  readonly namespace?: string;
  /** @default workload */
  readonly app?: string;
  /** @default 'v1' */
  readonly version?: string;
  /** @default workload */
  readonly serviceAccount?: string;
  /** Pod labels, for `match.sourceLabels`; `app` and `version` are added. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface TrafficSimulatorOptions {
  /** Reads VirtualServices and DestinationRules (networking.istio.io/v1) with it. */
  readonly kubeConfig: k8s.KubeConfig;
  /** Namespace of the services, the source, and the Istio config read. */
  readonly namespace: string;
  readonly services: readonly SimulatedService[];
  readonly source?: SourceOptions;
  /** How often the Istio config is listed again. @default 250 */
  readonly refreshMs?: number;
  /** Seed of every random choice (weights, fault and mirror percentages, backend errors). @default - from the clock */
  readonly seed?: number;
  /** Whether the destination reports mutual TLS (`connection_security_policy`). @default true */
  readonly mutualTls?: boolean;
  /** Other namespaces whose Istio config applies too. @default [] */
  readonly extraNamespaces?: readonly string[];
}

/** One request, as a caller sends it. */
export interface SimulatedRequest {
  /** The service as the caller writes it: `reviews`, `reviews.shop`, or a full host. */
  readonly host: string;
  /** @default '/' */
  readonly path?: string;
  /** @default 'GET', 'POST' for a gRPC call */
  readonly method?: string;
  /** @default {} */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the caller saw. */
export interface RequestOutcome {
  /** HTTP status; 0 when the caller gave up first. 200 for every answered gRPC call. */
  readonly status: number;
  /** The gRPC status of a gRPC call's answer (0 = OK); absent for HTTP, or when nothing answered. */
  readonly grpcStatus?: number;
  /** Envoy response flags: `-`, `FI` (fault abort), `DI` (fault delay), `UT` (timeout), `UF`, `NR`, `NC`, `UH`, `DC`. */
  readonly flags: string;
  readonly route?: RouteRef;
  readonly destination?: Destination;
  /** Version and workload of the backend whose answer the caller got. */
  readonly version?: string;
  readonly workload?: string;
  /** Tries made (1 + retries); 0 when no backend was tried. */
  readonly tries: number;
  readonly durationMs: number;
}

export interface LoadOptions extends SimulatedRequest {
  /** Requests started per second, at most `MAX_RPS`. */
  readonly rps: number;
  /** Stop starting requests after this long (at most `MAX_LOAD_MS`). @default - `requests / rps` seconds */
  readonly durationMs?: number;
  /** Stop after this many requests. @default - no count limit (durationMs is then required) */
  readonly requests?: number;
  /** Requests in flight at most; the schedule waits when reached. @default 64 */
  readonly concurrency?: number;
  /** Headers per request (e.g. to send every 10th as `end-user: jason`); replaces `headers`. */
  readonly headersFor?: (i: number) => Readonly<Record<string, string>>;
}

export interface LoadReport {
  readonly sent: number;
  readonly completed: number;
  readonly elapsedMs: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** By the version that answered; `none` when no backend answered. */
  readonly byVersion: Readonly<Record<string, number>>;
  readonly byFlags: Readonly<Record<string, number>>;
  /** By gRPC status (`0` = OK) of gRPC calls; empty for HTTP load. */
  readonly byGrpcStatus: Readonly<Record<string, number>>;
  /** Caller-side latencies in ms, sorted. */
  readonly latenciesMs: readonly number[];
}

export interface LoadHandle {
  /** Resolves when the load has finished by itself (or been stopped). */
  readonly done: Promise<LoadReport>;
  /** Stops starting requests, waits for those in flight, and returns the report. */
  stop(): Promise<LoadReport>;
}

export const MAX_RPS = 1000;
export const MAX_LOAD_MS = 10 * 60_000;
const MIRROR_TIMEOUT_MS = 10_000;
const RETRY_BASE_MS = 25;
const RETRY_MAX_MS = 250;

interface ServiceEntry {
  readonly name: string;
  readonly namespace: string;
  readonly protocol: RequestProtocol;
  readonly backends: Backend[];
}

type TryResult =
  | { kind: 'response'; status: number; grpcStatus?: number }
  | { kind: 'connect-failure' }
  | { kind: 'reset' }
  | { kind: 'timeout' }
  | { kind: 'cancelled' };

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class TrafficSimulator {
  readonly namespace: string;
  readonly seed: number;
  readonly metrics: IstioMetrics;
  readonly source: WorkloadIdentity;
  private readonly sourceLabels: Readonly<Record<string, string>>;
  private readonly services = new Map<string, ServiceEntry>();
  private readonly random: Random;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly pending = new Set<Promise<unknown>>();
  private readonly loads = new Set<{ stopped: boolean }>();
  private metricsHostPort = '';
  private closed = false;

  private constructor(
    opts: TrafficSimulatorOptions,
    private readonly live: LiveIstioConfig,
  ) {
    this.namespace = opts.namespace;
    this.seed = (opts.seed ?? Date.now()) >>> 0;
    this.random = seededRandom(this.seed);
    this.metrics = new IstioMetrics(opts.mutualTls ?? true);
    const s = opts.source ?? {};
    const workload = s.workload ?? 'loadgen';
    this.source = {
      workload,
      namespace: s.namespace ?? opts.namespace,
      app: s.app ?? workload,
      version: s.version ?? 'v1',
      serviceAccount: s.serviceAccount ?? workload,
    };
    this.sourceLabels = { ...s.labels, app: this.source.app, version: this.source.version };
  }

  /** Starts the backends, reads the Istio config once, and serves `/metrics` on 127.0.0.1. */
  static async start(opts: TrafficSimulatorOptions): Promise<TrafficSimulator> {
    const namespaces = [
      ...new Set([
        opts.namespace,
        ...opts.services.map((s) => s.namespace ?? opts.namespace),
        ...(opts.source?.namespace ? [opts.source.namespace] : []),
        ...(opts.extraNamespaces ?? []),
      ]),
    ];
    const live = new LiveIstioConfig(opts.kubeConfig, namespaces, opts.refreshMs ?? 250);
    const sim = new TrafficSimulator(opts, live);
    try {
      let n = 0;
      for (const svc of opts.services) {
        const namespace = svc.namespace ?? opts.namespace;
        const protocol = svc.protocol ?? 'http';
        const entry: ServiceEntry = { name: svc.name, namespace, protocol, backends: [] };
        sim.services.set(qualifyHost(svc.name, namespace), entry);
        for (const v of svc.versions) {
          const backend = await Backend.start(
            { seed: sim.seed + ++n, ...v, service: svc.name, namespace, protocol },
            (from, call, headers, signal) => sim.upstream(from, call, headers, signal),
          );
          entry.backends.push(backend);
          if (svc.versionServices) {
            const name = `${svc.name}-${v.version}`;
            sim.services.set(qualifyHost(name, namespace), {
              name,
              namespace,
              protocol,
              backends: [backend],
            });
          }
        }
      }
      await live.start();
      sim.metricsHostPort = await sim.metrics.listen();
    } catch (e) {
      await sim.stop();
      throw e;
    }
    return sim;
  }

  /** `127.0.0.1:<port>` of the `/metrics` page, for `addScrapeTarget`. */
  get metricsAddress(): string {
    return this.metricsHostPort;
  }

  /** The Istio and Gateway API config as last read from the apiserver. */
  get config(): MeshConfig {
    return this.live.config;
  }

  /** Reads the Istio config now instead of at the next refresh. */
  refresh(): Promise<void> {
    return this.live.refresh();
  }

  /** The resourceVersion of a VirtualService or DestinationRule as the simulator last read it. */
  observedResourceVersion(kind: WatchedKind, name: string, namespace = this.namespace) {
    return this.live.resourceVersion(kind, namespace, name);
  }

  /** The error of the last failed read of the Istio config, if the last read failed. */
  get configError(): string | undefined {
    return this.live.lastError;
  }

  /** The backend of one version of a service (throws on a name the test did not define). */
  backend(service: string, version: string, namespace = this.namespace): Backend {
    const b = this.services.get(qualifyHost(service, namespace))?.backends.find((x) => x.version === version);
    if (!b)
      throw new Error(`the traffic simulator has no backend ${service}/${version} in namespace ${namespace}`);
    return b;
  }

  /** Sends one request from the load generator's workload, as its sidecar would route it. */
  send(req: SimulatedRequest): Promise<RequestOutcome> {
    return this.track(this.dispatch(req, this.source, this.sourceLabels));
  }

  /** Sends requests at a fixed rate until the duration or count is reached; resolves with the report. */
  runLoad(opts: LoadOptions): Promise<LoadReport> {
    return this.startLoad(opts).done;
  }

  /** Starts bounded load in the background (e.g. while an operator runs a rollout). */
  startLoad(opts: LoadOptions): LoadHandle {
    const problems: string[] = [];
    if (!(opts.rps > 0 && opts.rps <= MAX_RPS))
      problems.push(`rps ${opts.rps} must be within (0, ${MAX_RPS}]`);
    if (opts.durationMs === undefined && opts.requests === undefined) {
      problems.push('give durationMs or requests, so that the load stops by itself');
    }
    // A request count is normally what stops the load; the time bound (twice the nominal time
    // plus 10 s) is the backstop that still lets a loaded CI machine send them all.
    const durationMs = Math.min(
      opts.durationMs ?? ((opts.requests ?? 0) / opts.rps) * 2000 + 10_000,
      MAX_LOAD_MS,
    );
    if (opts.durationMs !== undefined && !(opts.durationMs > 0 && opts.durationMs <= MAX_LOAD_MS)) {
      problems.push(`durationMs ${opts.durationMs} must be within (0, ${MAX_LOAD_MS}]`);
    }
    if (opts.requests !== undefined && !(Number.isInteger(opts.requests) && opts.requests > 0)) {
      problems.push(`requests ${opts.requests} must be a positive integer`);
    }
    if (problems.length > 0) throw new Error(`traffic simulator load: ${problems.join('; ')}`);
    if (this.closed) throw new Error('traffic simulator load: the simulator is stopped');

    const state = { stopped: false };
    this.loads.add(state);
    const concurrency = Math.max(1, opts.concurrency ?? 64);
    const maxRequests = opts.requests ?? Number.POSITIVE_INFINITY;
    const byStatus: Record<string, number> = {};
    const byVersion: Record<string, number> = {};
    const byFlags: Record<string, number> = {};
    const byGrpcStatus: Record<string, number> = {};
    const latencies: number[] = [];
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let completed = 0;
    const t0 = performance.now();
    const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

    const run = async (): Promise<LoadReport> => {
      const tick = Math.max(1, Math.min(20, 1000 / opts.rps));
      while (!state.stopped && !this.closed) {
        const elapsed = performance.now() - t0;
        if (elapsed >= durationMs || sent >= maxRequests) break;
        const due = Math.min(maxRequests, Math.floor((elapsed * opts.rps) / 1000) + 1);
        while (sent < due && inFlight.size < concurrency) {
          const i = sent++;
          const headers = opts.headersFor ? opts.headersFor(i) : opts.headers;
          const p = this.dispatch(
            { ...opts, ...(headers ? { headers } : {}) },
            this.source,
            this.sourceLabels,
          ).then((o) => {
            completed++;
            bump(byStatus, String(o.status));
            bump(byVersion, o.version ?? 'none');
            bump(byFlags, o.flags);
            if (o.grpcStatus !== undefined) bump(byGrpcStatus, String(o.grpcStatus));
            latencies.push(o.durationMs);
          });
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p)).catch(() => undefined);
        }
        await sleep(tick);
      }
      await Promise.all(inFlight);
      this.loads.delete(state);
      return {
        sent,
        completed,
        elapsedMs: performance.now() - t0,
        byStatus,
        byVersion,
        byFlags,
        byGrpcStatus,
        latenciesMs: latencies.sort((a, b) => a - b),
      };
    };
    const done = this.track(run());
    return {
      done,
      stop: () => {
        state.stopped = true;
        return done;
      },
    };
  }

  /** Stops all load, waits for requests in flight (bounded by their timeouts), closes everything. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.loads) l.stopped = true;
    this.live.stop();
    const bound = new AbortController();
    await Promise.race([Promise.allSettled([...this.pending]), sleep(15_000, bound.signal)]);
    bound.abort();
    for (const entry of this.services.values()) await Promise.all(entry.backends.map((b) => b.close()));
    await this.metrics.close();
    this.agent.destroy();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** A backend's call to another service goes through its own sidecar: same routing, own identity. */
  private async upstream(
    from: Backend,
    call: UpstreamCall,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<UpstreamAnswer> {
    if (this.closed) return { status: 0 };
    const o = await this.track(
      this.dispatch({ host: call.host, path: call.path ?? '/', headers }, from.identity, from.labels, signal),
    );
    return { status: o.status, ...(o.grpcStatus !== undefined ? { grpcStatus: o.grpcStatus } : {}) };
  }

  private async dispatch(
    req: SimulatedRequest,
    source: WorkloadIdentity,
    sourceLabels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<RequestOutcome> {
    const started = performance.now();
    const host = qualifyHost(req.host, source.namespace);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const path = req.path ?? '/';
    const svc = this.services.get(host);
    // gRPC is told by the content type, as Envoy and Istio's stats filter tell it
    const protocol: RequestProtocol =
      isGrpcContentType(headers['content-type']) || (svc?.protocol === 'grpc' && !headers['content-type'])
        ? 'grpc'
        : 'http';
    if (protocol === 'grpc') headers['content-type'] ??= 'application/grpc';
    const method = (req.method ?? (protocol === 'grpc' ? 'POST' : 'GET')).toUpperCase();
    const serviceRef = svc
      ? { name: svc.name, namespace: svc.namespace }
      : { name: host.split('.')[0]!, namespace: host.split('.')[1] ?? source.namespace };

    const finish = (
      answered: number,
      flags: string[],
      extra: {
        backend?: Backend;
        route?: RouteRef;
        destination?: Destination;
        tries?: number;
        /** The backend's gRPC status; absent for the simulator's own answers. */
        grpcStatus?: number;
      },
    ): RequestOutcome => {
      const durationMs = performance.now() - started;
      const f = flags.length > 0 ? flags.join(',') : '-';
      // Envoy answers a gRPC caller itself with HTTP 200 and the gRPC status of its HTTP status
      let status = answered;
      let grpcStatus: number | undefined;
      if (protocol === 'grpc' && answered !== 0) {
        grpcStatus = extra.grpcStatus ?? grpcStatusOfHttp(answered);
        if (extra.grpcStatus === undefined) status = 200;
      }
      this.metrics.record({
        reporter: 'source',
        source,
        destination: extra.backend?.identity ?? UNKNOWN_WORKLOAD,
        service: serviceRef,
        responseCode: status,
        responseFlags: f,
        durationMs,
        protocol,
        ...(grpcStatus !== undefined ? { grpcStatus } : {}),
      });
      return {
        status,
        ...(grpcStatus !== undefined ? { grpcStatus } : {}),
        flags: f,
        ...(extra.route ? { route: extra.route } : {}),
        ...(extra.destination ? { destination: extra.destination } : {}),
        ...(extra.backend ? { version: extra.backend.version, workload: extra.backend.workload } : {}),
        tries: extra.tries ?? 0,
        durationMs,
      };
    };

    const decision = decideRoute(
      this.live.config,
      { host, authority: req.host, method, path, headers, source: { ...source, labels: sourceLabels } },
      this.random,
    );
    switch (decision.kind) {
      case 'no-route':
        return finish(404, ['NR'], {});
      case 'direct-response':
        return finish(decision.status, [], { route: decision.route });
      case 'redirect':
        return finish(decision.status, [], { route: decision.route });
      case 'forward':
        break;
    }
    const route = decision.route;
    const destination = decision.destination;
    const flags: string[] = [];
    const target = this.services.get(destination.host);
    if (!target) return finish(503, ['NC'], { route, destination });
    let candidates = [...target.backends];
    if (destination.subset !== undefined) {
      const labels = subsetLabels(this.live.config, destination.host, destination.subset);
      if (labels === undefined) return finish(503, ['NC'], { route, destination });
      candidates = candidates.filter((b) => Object.entries(labels).every(([k, v]) => b.labels[k] === v));
    }
    for (const m of decision.mirrors) this.mirror(m, req.host, method, path, headers, source);

    if (decision.delayMs !== undefined) {
      flags.push('DI');
      if (!(await sleep(decision.delayMs, signal)))
        return finish(0, [...flags, 'DC'], { route, destination });
    }
    if (decision.abortStatus !== undefined) {
      return finish(decision.abortStatus, [...flags, 'FI'], { route, destination });
    }
    if (candidates.length === 0) return finish(503, [...flags, 'UH'], { route, destination });

    const policy: RetryPolicy = decision.retryPolicy;
    const deadline =
      decision.timeoutMs !== undefined ? started + decision.timeoutMs : Number.POSITIVE_INFINITY;
    const tried = new Set<Backend>();
    for (let attempt = 1; ; attempt++) {
      const fresh = candidates.filter((b) => !tried.has(b));
      const pool = fresh.length > 0 ? fresh : candidates;
      const backend = pool[Math.floor(this.random() * pool.length)]!;
      tried.add(backend);
      const remaining = deadline - performance.now();
      const perTry = policy.perTryTimeoutMs ?? Number.POSITIVE_INFINITY;
      const tryTimeout = Math.min(remaining, perTry);
      const res = await this.tryOnce(
        backend,
        req.host,
        method,
        path,
        headers,
        attempt,
        tryTimeout,
        source,
        serviceRef,
        signal,
      );
      if (res.kind === 'cancelled')
        return finish(0, [...flags, 'DC'], { route, destination, backend, tries: attempt });
      const globalExpired = res.kind === 'timeout' && performance.now() >= deadline - 1;
      if (globalExpired)
        return finish(504, [...flags, 'UT'], { route, destination, backend, tries: attempt });
      const outcome = res.kind === 'timeout' ? ({ kind: 'per-try-timeout' } as const) : res;
      if (attempt <= policy.retries && isRetriable(policy, outcome)) {
        const backoff = this.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
        if (performance.now() + backoff >= deadline) {
          await sleep(Math.max(0, deadline - performance.now()), signal);
          return finish(504, [...flags, 'UT'], { route, destination, backend, tries: attempt });
        }
        if (!(await sleep(backoff, signal)))
          return finish(0, [...flags, 'DC'], { route, destination, tries: attempt });
        continue;
      }
      switch (res.kind) {
        case 'response':
          return finish(res.status, flags, {
            route,
            destination,
            backend,
            tries: attempt,
            ...(res.grpcStatus !== undefined ? { grpcStatus: res.grpcStatus } : {}),
          });
        case 'timeout':
          return finish(504, [...flags, 'UT'], { route, destination, backend, tries: attempt });
        case 'connect-failure':
          return finish(503, [...flags, attempt > 1 ? 'UF,URX' : 'UF'], {
            route,
            destination,
            tries: attempt,
          });
        case 'reset':
          return finish(503, [...flags, 'UC'], { route, destination, backend, tries: attempt });
      }
    }
  }

  private mirror(
    dest: Destination,
    authority: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    source: WorkloadIdentity,
  ): void {
    const target = this.services.get(dest.host);
    if (!target) return;
    let pool = target.backends;
    if (dest.subset !== undefined) {
      const labels = subsetLabels(this.live.config, dest.host, dest.subset);
      if (labels === undefined) return;
      pool = pool.filter((b) => Object.entries(labels).every(([k, v]) => b.labels[k] === v));
    }
    if (pool.length === 0) return;
    const backend = pool[Math.floor(this.random() * pool.length)]!;
    const shadowAuthority = authority.replace(/^([^:]+)/, '$1-shadow');
    void this.track(
      this.tryOnce(
        backend,
        shadowAuthority,
        method,
        path,
        headers,
        1,
        MIRROR_TIMEOUT_MS,
        source,
        { name: target.name, namespace: target.namespace },
        undefined,
      ),
    );
  }

  /** One try against one backend over real HTTP; reports it as the destination's proxy would. */
  private tryOnce(
    backend: Backend,
    authority: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    attempt: number,
    timeoutMs: number,
    source: WorkloadIdentity,
    service: { name: string; namespace: string },
    signal: AbortSignal | undefined,
  ): Promise<TryResult> {
    const started = performance.now();
    const protocol: RequestProtocol = isGrpcContentType(headers['content-type']) ? 'grpc' : 'http';
    return new Promise<TryResult>((resolve) => {
      let settled = false;
      let reached = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (r: TryResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (reached) {
          this.metrics.record({
            reporter: 'destination',
            source,
            destination: backend.identity,
            service,
            responseCode: r.kind === 'response' ? r.status : 0,
            responseFlags: r.kind === 'response' ? '-' : 'DC',
            durationMs: performance.now() - started,
            protocol,
            ...(r.kind === 'response' && r.grpcStatus !== undefined ? { grpcStatus: r.grpcStatus } : {}),
          });
        }
        resolve(r);
      };
      const req = httpRequest({
        host: backend.address.host,
        port: backend.address.port,
        method,
        path,
        agent: this.agent,
        headers: { ...headers, host: authority, 'x-envoy-attempt-count': String(attempt) },
      });
      const onAbort = () => {
        done({ kind: 'cancelled' });
        req.destroy();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => {
            done({ kind: 'timeout' });
            req.destroy();
          },
          Math.max(0, timeoutMs),
        );
      }
      req.on('socket', (sock) => {
        if (!sock.connecting) reached = true;
        else sock.once('connect', () => (reached = true));
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (protocol === 'http') return done({ kind: 'response', status });
          const grpcStatus =
            parseGrpcStatus(res.headers['grpc-status']) ??
            parseGrpcStatus(res.trailers['grpc-status']) ??
            grpcStatusOfHttp(status);
          done({ kind: 'response', status, grpcStatus });
        });
        res.on('error', () => done({ kind: 'reset' }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        done(e.code === 'ECONNREFUSED' ? { kind: 'connect-failure' } : { kind: 'reset' });
      });
      req.end();
    });
  }
}
