/**
 * `cdk8s-mesh dashboard` put together: the watches (./live.ts) feed snapshots (./snapshot.ts),
 * Prometheus feeds traffic every few seconds (./metrics.ts), and the server (./server.ts) pushes
 * both to the pages; promote/resume/abort run the CLI's own writes (../release/gates.ts, with its
 * resourceVersion checks) on the user's kubeconfig, and explain answers from the live objects.
 */
import type * as k8s from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExplainError } from '../../mesh/explain/explain.js';
import { explainPath, formatPath } from '../../mesh/explain/path.js';
import { buildModel } from '../../mesh/model/load.js';
import type { SourcedObject } from '../../mesh/model/types.js';
import { KubeClient, type CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { PrometheusProvider } from '../../operator/adapters/prometheus.js';
import { CommandError } from '../errors.js';
import { EXIT } from '../exit.js';
import { writeGate } from '../release/gates.js';
import { ref } from '../release/format.js';
import { readHistory, type HistoryBounds } from './history.js';
import { LiveCluster } from './live.js';
import { fetchTraffic, type TrafficByEdge } from './metrics.js';
import {
  dashboardHandler,
  growSeries,
  mergeSeries,
  type Answer,
  type ChartPoint,
  type DashboardBackend,
  type DashboardEvent,
  type DashboardState,
  type ExplainForm,
  type ReleaseAction,
} from './server.js';
import { snapshot, type Snapshot } from './snapshot.js';

export interface DashboardOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly namespaces: readonly string[];
  /** @default 0 (any free port) */
  readonly port?: number;
  readonly prometheusUrl?: string;
  /** How often traffic is read from Prometheus. @default 5000 */
  readonly trafficIntervalMs?: number;
  /** Bounds of the Prometheus history a release's chart starts with. @default - {@link HistoryBounds}' defaults */
  readonly history?: HistoryBounds;
  /** Told of snapshot failures (a bug: the page keeps the last good one). */
  readonly onError?: (message: string) => void;
}

export interface RunningDashboard {
  readonly url: string;
  /** The state as the pages have it (for tests). */
  state(): DashboardState;
  close(): Promise<void>;
}

/** HTTP status of a failed write, from the CLI's message and exit code. */
export function statusOf(e: CommandError): number {
  const m = /HTTP (\d{3})/.exec(e.message);
  if (m) return Number(m[1]);
  if (e.exitCode === EXIT.refused) return 409;
  if (e.exitCode === EXIT.notFound) return 404;
  return 502;
}

class Backend implements DashboardBackend {
  snapshot?: Snapshot;
  series: Record<string, ChartPoint[]> = {};
  traffic?: TrafficByEdge;
  problems: Record<string, string> = {};
  objects: readonly SourcedObject[] = [];
  private readonly listeners = new Set<(e: DashboardEvent) => void>();

  constructor(private readonly kc: k8s.KubeConfig) {}

  state(): DashboardState {
    return {
      ...(this.snapshot ? { snapshot: this.snapshot } : {}),
      series: this.series,
      ...(this.traffic ? { traffic: this.traffic } : {}),
      problems: this.problems,
    };
  }

  subscribe(listener: (e: DashboardEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: DashboardEvent): void {
    for (const l of this.listeners) l(e);
  }

  problem(key: string, message: string | undefined): void {
    if (this.problems[key] === message) return;
    const next = { ...this.problems };
    if (message === undefined) delete next[key];
    else next[key] = message;
    this.problems = next;
    this.emit('problems');
  }

  async act(
    action: ReleaseAction,
    namespace: string,
    name: string,
    resourceVersion?: string,
  ): Promise<Answer> {
    try {
      const { plan, view, written } = await writeGate(
        new KubeClient(this.kc),
        this.kc,
        action,
        namespace,
        name,
        resourceVersion,
      );
      return {
        status: 200,
        message: written
          ? `${ref(view)}: ${plan.what} (wrote ${plan.annotation}=${plan.value})`
          : `${ref(view)}: already done (${plan.annotation}=${plan.value}); the operator has not acted on it yet`,
        body: { written, annotation: plan.annotation, value: plan.value },
      };
    } catch (e) {
      if (e instanceof CommandError) return { status: statusOf(e), message: e.message };
      throw e;
    }
  }

  explain(form: ExplainForm): Answer {
    const model = buildModel([...this.objects]);
    try {
      const path = explainPath(model, form);
      return { status: 200, message: formatPath(path), body: path.outcome };
    } catch (e) {
      if (e instanceof ExplainError) return { status: 400, message: e.message.replace(/^explain: /, '') };
      throw e;
    }
  }
}

/** Starts watching, serving and reading traffic; resolves once the server listens and the first lists are in. */
export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const backend = new Backend(o.kubeConfig);
  let building = Promise.resolve();
  let closed = false;
  const prometheus = o.prometheusUrl ? new PrometheusProvider({ url: o.prometheusUrl }) : undefined;
  // Each release's past is read once (again when a new release of it starts), then checks extend it.
  const pastRead = new Map<string, string>();
  const readPast = (r: CanaryReleaseObject) => {
    const key = `${r.metadata.namespace}/${r.metadata.name}`;
    const release = `${r.metadata.uid ?? ''} ${(r.status as { release?: string } | undefined)?.release ?? ''}`;
    if (!prometheus || pastRead.get(key) === release) return;
    pastRead.set(key, release);
    void readHistory(prometheus, r, new Date(), o.history).then((h) => {
      building = building.then(() => {
        if (closed) return;
        backend.problem(`history ${key}`, h.ok ? undefined : h.message);
        if (!h.ok || h.points.length === 0) return;
        backend.series = { ...backend.series, [key]: mergeSeries(backend.series[key] ?? [], h.points) };
        backend.emit('snapshot');
      });
    });
  };
  const live = new LiveCluster({
    kubeConfig: o.kubeConfig,
    namespaces: o.namespaces,
    onWatchError: (key, message) => backend.problem(`watch ${key}`, message),
    onChange: (objects, releases) => {
      // One snapshot at a time, in order: ELK's layout is asynchronous.
      building = building.then(async () => {
        try {
          const s = await snapshot(o.namespaces, objects, releases);
          backend.objects = objects;
          backend.series = growSeries(backend.series, s.releases);
          backend.snapshot = s;
          backend.emit('snapshot');
          if (prometheus) for (const r of releases) readPast(r);
        } catch (e) {
          o.onError?.(`the snapshot failed: ${(e as Error).stack ?? String(e)}`);
        }
      });
    },
  });
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const handler = dashboardHandler(backend, () => url);
  server.on('request', (req, res) => {
    handler(req, res).catch((e: unknown) => {
      o.onError?.(`request ${req.method} ${req.url} failed: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `the dashboard failed on this request: ${(e as Error).message}` }));
    });
  });
  await live.start();

  let timer: ReturnType<typeof setTimeout> | undefined;
  const readTraffic = async () => {
    if (!o.prometheusUrl || closed) return;
    const r = await fetchTraffic(o.prometheusUrl, o.namespaces);
    if (closed) return;
    if (r.ok) {
      backend.traffic = r.traffic;
      backend.problem('prometheus', undefined);
      backend.emit('traffic');
    } else backend.problem('prometheus', r.message);
    timer = setTimeout(() => void readTraffic(), o.trafficIntervalMs ?? 5000);
  };
  if (o.prometheusUrl) void readTraffic();
  else backend.problem('prometheus', 'no --prometheus-url: the arrows show no live traffic');

  return {
    url,
    state: () => backend.state(),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await live.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await building;
    },
  };
}
