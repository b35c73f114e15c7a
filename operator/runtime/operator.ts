/**
 * The operator runtime, startable in-process: informers (CanaryRelease, VirtualService,
 * DestinationRule, Deployment) feed a work queue whose handler is the reconciler; leader election
 * on a Lease decides which replica's queue runs; an HTTP server serves `/metrics`, `/healthz` and
 * `/readyz`. `operator/main.ts` is the process around it.
 */
import { defaultConcurrency } from './concurrency.js';
import type * as k8s from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { GatewayApiRouter, type GatewayRouteObject } from '../adapters/gateway-api-router.js';
import { IstioRouter, type VirtualServiceObject } from '../adapters/istio-router.js';
import { TrafficRouters } from '../adapters/routers.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  deploymentSummary,
  DESTINATION_RULES,
  GRPC_ROUTES,
  HTTP_ROUTES,
  KubernetesAdapter,
  VIRTUAL_SERVICES,
  withoutBookkeeping,
  type CanaryReleaseObject,
  type KubeObject,
  type ResourceType,
} from '../adapters/kubernetes.js';
import { ok } from '../core/result.js';
import { CachedRouter, CachedStore, type CacheView } from './cached-reads.js';
import { QueryBatcher } from './query-batcher.js';
import { PrometheusProvider } from '../adapters/prometheus.js';
import { systemClock, type Clock } from './clock.js';
import { Informer } from './informers.js';
import { LeaderElector } from './leader-election.js';
import { createLogger, type Logger } from './log.js';
import { OperatorMetrics } from './metrics.js';
import { Reconciler, type ReconcileReport } from './reconciler.js';
import { WorkQueue } from './workqueue.js';

export interface LeaderElectionOptions {
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease. @default 'cdk8s-mesh-canary-operator' */
  readonly name?: string;
  /** @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
}

export interface OperatorOptions {
  /** Who the operator talks to (in-cluster, or a kubeconfig). */
  readonly kubeConfig: k8s.KubeConfig;
  /**
   * Time allowed for one request to the apiserver (watches excepted), answer included; one past it
   * is abandoned and retried like an unreachable apiserver.
   * @default DEFAULT_REQUEST_TIMEOUT_MS (30 s)
   */
  readonly requestTimeoutMs?: number;
  /**
   * A watch that brings no event and no bookmark for this long is taken for dead and opened again.
   * @default DEFAULT_WATCH_IDLE_MS (90 s; the apiserver bookmarks a quiet watch every minute)
   */
  readonly watchIdleMs?: number;
  /** Base URL of Prometheus, e.g. `http://prometheus.istio-system:9090`. */
  readonly prometheusUrl: string;
  /** Time allowed for one Prometheus query. @default 5000 */
  readonly prometheusTimeoutMs?: number;
  /**
   * How long a check's built-in metric query waits for other releases' checks that share it, to
   * be sent as one grouped query. @default 100
   */
  readonly prometheusBatchMs?: number;
  /** Watch and act in this namespace only. @default - all namespaces */
  readonly namespace?: string;
  /** Leader election; `false` acts at once without a Lease (one replica only). */
  readonly leaderElection: LeaderElectionOptions | false;
  /** This replica's identity (Lease holder, Event `reportingInstance`). @default `${hostname}-${pid}` or $POD_NAME */
  readonly identity?: string;
  /** Serve `/metrics`, `/healthz`, `/readyz` on `host:port` (port 0 picks one). @default - no server */
  readonly listen?: string;
  /** Releases reconciled at the same time. @default - {@link defaultConcurrency}: 64 */
  readonly concurrency?: number;
  /** Time allowed for one webhook POST. @default 5000 */
  readonly webhookTimeoutMs?: number;
  /** POSTs per webhook notification (retries on refused connections, timeouts, 408, 429, 5xx). @default 3 */
  readonly webhookAttempts?: number;
  /** Wait before the first webhook retry, doubling after each. @default 1000 */
  readonly webhookBackoffMs?: number;
  /** Reconcile every release at least this often, whatever the events. @default 300000 */
  readonly resyncMs?: number;
  /**
   * While the apiserver does not serve the Gateway API's HTTPRoutes or GRPCRoutes, ask its
   * discovery this often whether it does now (their CRDs installed after the operator started);
   * once it does, they are watched like the rest. @default 60000
   */
  readonly discoveryIntervalMs?: number;
  /**
   * Also serve Node's process metrics on `/metrics` (`process_resident_memory_bytes`,
   * `nodejs_heap_size_used_bytes`, CPU, event-loop lag…); one operator per process only.
   * @default false
   */
  readonly processMetrics?: boolean;
  /** @default - JSON lines on stderr at level info */
  readonly logger?: Logger;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A running operator. */
export interface OperatorHandle {
  readonly identity: string;
  /** `host:port` of the HTTP server, when `listen` was given. */
  readonly address: string | undefined;
  /** Whether this replica holds the Lease (always true without leader election). */
  isLeader(): boolean;
  /** Whether every informer has its first list. */
  isReady(): boolean;
  /** Queues a reconcile of one release now. */
  enqueue(namespace: string, name: string): void;
  /** The last report of each release's reconcile, by `namespace/name`. */
  readonly reports: ReadonlyMap<string, ReconcileReport>;
  readonly metrics: OperatorMetrics;
  readonly queue: WorkQueue;
  /** Stops acting (runs under way finish), releases the Lease, stops watching and serving. */
  stop(): Promise<void>;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** Fields of a CanaryRelease whose change needs a reconcile (not the status we write ourselves). */
function trigger(o: CanaryReleaseObject): string {
  return JSON.stringify([
    o.metadata.generation,
    o.metadata.annotations ?? {},
    o.metadata.deletionTimestamp ?? null,
  ]);
}

export async function startOperator(opts: OperatorOptions): Promise<OperatorHandle> {
  const clock = opts.clock ?? systemClock;
  const identity = opts.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const log = (opts.logger ?? createLogger()).with({ operator: identity });
  const metrics = new OperatorMetrics({ defaultMetrics: opts.processMetrics ?? false });
  const kube = new KubernetesAdapter(opts.kubeConfig, {
    instance: identity,
    requestTimeoutMs: opts.requestTimeoutMs,
  });
  const istioRouter = new IstioRouter(kube.client);
  const prometheus = new PrometheusProvider({
    url: opts.prometheusUrl,
    timeoutMs: opts.prometheusTimeoutMs ?? 5000,
  });
  // The caches hold only what the operator reads: no managedFields, and of a Deployment only
  // what its readiness is judged on.
  const informer = <T extends KubeObject>(
    type: ResourceType,
    transform: (o: KubeObject) => KubeObject = withoutBookkeeping,
  ) =>
    new Informer<T>({
      kubeConfig: opts.kubeConfig,
      type,
      namespace: opts.namespace,
      clock,
      transform,
      requestTimeoutMs: opts.requestTimeoutMs,
      watchIdleMs: opts.watchIdleMs,
      onError: (m) => {
        metrics.watchRestarts.inc({ resource: type.plural });
        log.warn(m);
      },
    });
  const releases = informer<CanaryReleaseObject>(CANARY_RELEASES);
  const virtualServices = informer(VIRTUAL_SERVICES);
  const destinationRules = informer(DESTINATION_RULES);
  const deployments = informer(DEPLOYMENTS, deploymentSummary);
  // HTTPRoutes and GRPCRoutes are watched where the Gateway API CRDs are installed (a cluster
  // without them runs releases on VirtualServices only): an edit of a driven rule, or the deletion
  // of a route a release owns, brings a reconcile at once, and their reads come from the cache.
  // Kinds not served at start are asked for again every `discoveryIntervalMs` and watched once
  // they are; until then their routes are read fresh at each check.
  type GatewayKind = { readonly field: 'httpRoute' | 'grpcRoute'; readonly type: ResourceType };
  const servedAtStart: GatewayKind[] = [];
  const notServed: GatewayKind[] = [];
  for (const kind of [
    { field: 'httpRoute', type: HTTP_ROUTES },
    { field: 'grpcRoute', type: GRPC_ROUTES },
  ] as const) {
    const served = await kube.client.serves(kind.type);
    if (served.ok && served.value) servedAtStart.push(kind);
    else {
      notServed.push(kind);
      log.info(
        `not watching ${kind.type.plural} yet: ${served.ok ? 'the apiserver does not serve them' : served.error.message}`,
        {
          effect: `their routes are read at each check; asked again every ${(opts.discoveryIntervalMs ?? 60_000) / 1000} s`,
        },
      );
    }
  }
  const informers: Informer[] = [releases, virtualServices, destinationRules, deployments];
  const gatewayRouter = new CachedRouter(
    new GatewayApiRouter(kube.client),
    {},
    (t) => ({
      resource: (t.kind === 'HTTPRoute' ? HTTP_ROUTES : GRPC_ROUTES).plural,
      ref: { namespace: t.namespace, name: t.name },
    }),
    metrics,
  );

  const reconciler = new Reconciler({
    kube: new CachedStore(kube, {
      releases,
      deployments,
      metrics,
      getDeployment: async (ref) => {
        const res = await kube.client.get(DEPLOYMENTS, ref);
        return res.ok || res.error.kind !== 'NotFound' ? res : ok(undefined);
      },
    }),
    // Routes are read from their informers' caches (HTTPRoutes and GRPCRoutes fresh while their
    // CRDs are not served).
    router: new TrafficRouters(
      new CachedRouter(
        istioRouter,
        { [VIRTUAL_SERVICES.plural]: virtualServices as CacheView<VirtualServiceObject> },
        (t) => ({
          resource: VIRTUAL_SERVICES.plural,
          ref: { namespace: t.namespace, name: t.virtualService },
        }),
        metrics,
      ),
      gatewayRouter,
    ),
    prometheus: new QueryBatcher(prometheus, { clock, windowMs: opts.prometheusBatchMs }),
    clock,
    log,
    metrics,
    webhookTimeoutMs: opts.webhookTimeoutMs,
    webhookAttempts: opts.webhookAttempts,
    webhookBackoffMs: opts.webhookBackoffMs,
  });
  const queue = new WorkQueue(reconciler.handle, {
    concurrency: opts.concurrency ?? defaultConcurrency(),
    clock,
    onError: (key, e, retryInMs) =>
      log.warn('reconcile failed; retrying', {
        release: key,
        error: (e as Error)?.message ?? String(e),
        reason: (e as { reason?: string })?.reason,
        retryInMs,
      }),
  });
  queue.pause(); // until this replica leads

  const seen = new Map<string, string>();
  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth.set(queue.length);
  };
  releases.on((event, o) => {
    const key = keyOf(o);
    if (event === 'delete') {
      seen.delete(key);
      return;
    }
    const t = trigger(o);
    if (seen.get(key) === t) return; // a status write (ours): nothing to decide
    seen.set(key, t);
    enqueue(key);
  });
  const specOf = (r: CanaryReleaseObject) =>
    (r.spec ?? {}) as {
      virtualService?: { name?: string };
      httpRoute?: { name?: string };
      grpcRoute?: { name?: string };
      service?: string;
      stable?: { deployment?: string };
      canary?: { deployment?: string };
    };
  const releasesIn = (ns: string | undefined, pick: (s: ReturnType<typeof specOf>) => boolean) => {
    for (const r of releases.list(ns)) if (pick(specOf(r))) enqueue(keyOf(r));
  };
  virtualServices.on((_e, vs) =>
    releasesIn(vs.metadata.namespace, (s) => s.virtualService?.name === vs.metadata.name),
  );
  /** A watch of a Gateway API route kind: its events bring the releases on a route, its cache serves reads. */
  const watchRoutes = ({ field, type }: GatewayKind) => {
    const routes = informer<GatewayRouteObject>(type);
    routes.on((_e, r) => releasesIn(r.metadata.namespace, (s) => s[field]?.name === r.metadata.name));
    gatewayRouter.watch(type.plural, routes);
    return routes;
  };
  for (const kind of servedAtStart) informers.push(watchRoutes(kind));
  deployments.on((_e, d) =>
    releasesIn(
      d.metadata.namespace,
      (s) => s.canary?.deployment === d.metadata.name || s.stable?.deployment === d.metadata.name,
    ),
  );
  destinationRules.on((_e, dr) => {
    const host = String((dr.spec as { host?: string } | undefined)?.host ?? '').split('.')[0];
    releasesIn(dr.metadata.namespace, (s) => String(s.service ?? '').split('.')[0] === host);
  });

  const becomeLeader = () => {
    metrics.leader.set(1);
    log.info('leading: acting on releases');
    queue.resume();
    for (const r of releases.list()) enqueue(keyOf(r));
  };
  const stopLeading = () => {
    metrics.leader.set(0);
    log.info('not leading: acting on nothing');
    queue.pause();
  };

  // Serve health before the informers sync, so that liveness holds during a slow start.
  let server: Server | undefined;
  let address: string | undefined;
  let ready = false;
  if (opts.listen !== undefined) {
    const m = /^(.*):(\d+)$/.exec(opts.listen);
    if (!m)
      throw new Error(`listen address "${opts.listen}" must be host:port, e.g. 127.0.0.1:8080 or :8080`);
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const waiting = informers.filter((i) => !i.synced).length;
        if (ready && waiting === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        else
          res
            .writeHead(503, { 'content-type': 'text/plain' })
            .end(`waiting for ${waiting} informer(s) to sync\n`);
      } else if (path === '/metrics') {
        metrics.queueDepth.set(queue.length);
        metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          (e: unknown) => res.writeHead(500).end(String(e)),
        );
      } else {
        res
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('not found: try /metrics, /healthz or /readyz\n');
      }
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(Number(m[2]), m[1] === '' ? undefined : m[1], () => resolve());
    });
    const a = srv.address() as AddressInfo;
    address = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  await Promise.all(informers.map((i) => i.start()));
  ready = true;
  log.info('informers started', {
    synced: informers.map((i) => i.synced),
    namespace: opts.namespace ?? '(all)',
    prometheus: opts.prometheusUrl,
  });

  let elector: LeaderElector | undefined;
  if (opts.leaderElection === false) becomeLeader();
  else {
    elector = new LeaderElector({
      client: kube.client,
      namespace: opts.leaderElection.namespace,
      name: opts.leaderElection.name ?? 'cdk8s-mesh-canary-operator',
      identity,
      leaseDurationMs: opts.leaderElection.leaseDurationMs,
      renewDeadlineMs: opts.leaderElection.renewDeadlineMs,
      retryPeriodMs: opts.leaderElection.retryPeriodMs,
      clock,
      onStartedLeading: becomeLeader,
      onStoppedLeading: stopLeading,
      onError: (m) => log.warn(m),
    });
    elector.start();
  }

  // Kinds whose CRDs come later: once discovery lists them, they are watched (added to the
  // informers once synced, so readiness does not flap) and their releases reconciled.
  let stopping: Promise<void> | undefined;
  let discovering = false;
  const discover = async () => {
    if (discovering || stopping) return;
    discovering = true;
    try {
      for (const kind of [...notServed]) {
        const served = await kube.client.serves(kind.type);
        if (!served.ok || !served.value || stopping) continue;
        const routes = watchRoutes(kind);
        await routes.start();
        if (stopping) {
          await routes.stop();
          return;
        }
        informers.push(routes);
        notServed.splice(notServed.indexOf(kind), 1);
        log.info(`watching ${kind.type.plural}: the apiserver serves them now`);
        releasesIn(undefined, (s) => s[kind.field] !== undefined);
      }
      if (notServed.length === 0) clearInterval(discovery);
    } catch (e) {
      log.warn('asking discovery for the Gateway API routes failed; asking again later', {
        error: (e as Error)?.message ?? String(e),
      });
    } finally {
      discovering = false;
    }
  };
  const discovery = setInterval(() => void discover(), opts.discoveryIntervalMs ?? 60_000);
  discovery.unref();
  if (notServed.length === 0) clearInterval(discovery);

  const resyncMs = opts.resyncMs ?? 300_000;
  const resync = setInterval(() => {
    for (const r of releases.list()) queue.addAfter(keyOf(r), Math.random() * 1000);
  }, resyncMs);
  resync.unref();

  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping');
      clearInterval(resync);
      clearInterval(discovery);
      queue.pause();
      await queue.shutdown(30_000); // runs under way finish before the Lease is let go
      await elector?.stop();
      metrics.leader.set(0);
      await Promise.all(informers.map((i) => i.stop()));
      await reconciler.flush();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
      }
      log.info('stopped');
    })());

  return {
    identity,
    address,
    isLeader: () => (elector ? elector.isLeader : !stopping),
    isReady: () => ready && informers.every((i) => i.synced),
    enqueue: (namespace, name) => enqueue(`${namespace}/${name}`),
    reports: reconciler.last,
    metrics,
    queue,
    stop,
  };
}
