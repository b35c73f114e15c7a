/**
 * One end-to-end environment per scenario: a namespace of its own on the real apiserver, the
 * DestinationRules, VirtualServices and Deployments (kwok runs their pods) of a few services, the
 * traffic simulator (a test stand-in for Envoy) serving their versions and scraped by a real
 * Prometheus, and an operator instance scoped to that namespace with its own Lease.
 *
 * Everything is bounded: every wait has a timeout, every load a duration, and `dispose` stops the
 * operator, the load, the simulator and the scrape target, then deletes the namespace.
 */
import * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  DESTINATION_RULES,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { PrometheusProvider, renderQuery } from '../../operator/adapters/prometheus.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { addScrapeTarget, cluster, testNamespace } from '../harness/cluster.js';
import {
  TrafficSimulator,
  type LoadHandle,
  type LoadOptions,
  type SimulatedService,
  type SourceOptions,
} from '../harness/traffic/index.js';
import {
  canaryRelease,
  deployment,
  eventsRegarding,
  type EventView,
  must,
  SOLE_LEASE,
  sleep,
  transitions,
  waitFor,
} from '../integration/operator-fixtures.js';

export { must, sleep, transitions, waitFor };

/** One service of the environment: its versions (one backend and one Deployment each) and its VirtualService. */
export interface ServiceSetup extends SimulatedService {
  /** The subset the VirtualService's managed route sends to. @default the first version */
  readonly stable?: string;
  /** Name of the managed route. @default 'primary' */
  readonly route?: string;
  /** Extra fields of the managed route (timeout, retries, …). @default `{ retries: { attempts: 0 } }` */
  readonly routeFields?: Record<string, unknown>;
}

export interface EnvOptions {
  /** Namespace prefix. */
  readonly prefix: string;
  readonly services: readonly ServiceSetup[];
  /** Prometheus the operator reads. @default the shared one */
  readonly prometheusUrl?: string;
  /** Add the simulator as a target of the shared Prometheus. @default true */
  readonly scrapeShared?: boolean;
  /** @default 7 */
  readonly seed?: number;
  /**
   * Create each service's DestinationRule, VirtualService and Deployments. `false` when the test
   * applies them itself (e.g. the synthesized manifests of a cdk8s program). @default true
   */
  readonly createObjects?: boolean;
  /** The workload the simulator's load comes from. @default the simulator's (`loadgen`) */
  readonly source?: SourceOptions;
}

/** A route as the tests read it back from the VirtualService. */
export interface HttpRouteView {
  readonly name?: string;
  readonly route?: { destination: { host: string; subset?: string }; weight?: number }[];
  readonly match?: unknown[];
  readonly mirror?: { subset?: string };
  readonly mirrorPercentage?: { value?: number };
  readonly fault?: unknown;
  readonly timeout?: string;
  readonly retries?: unknown;
}

/** The time-stamped distinct states a release went through, as polled. */
export interface Trace {
  readonly lines: string[];
  readonly times: number[];
}

export class E2eEnv {
  readonly loads: LoadHandle[] = [];
  readonly logs: LogEntry[] = [];
  operator: OperatorHandle | undefined;
  private removeTarget: () => void = () => undefined;

  private constructor(
    readonly ns: string,
    readonly kc: k8s.KubeConfig,
    readonly client: KubeClient,
    readonly sim: TrafficSimulator,
    readonly prometheusUrl: string,
    private readonly disposeNs: () => Promise<void>,
  ) {}

  static async start(opts: EnvOptions): Promise<E2eEnv> {
    const kc = cluster.kubeConfig();
    const client = new KubeClient(kc);
    const namespace = await testNamespace(opts.prefix);
    const ns = namespace.name;
    let sim: TrafficSimulator | undefined;
    try {
      for (const svc of opts.createObjects === false ? [] : opts.services) {
        const versions = svc.versions.map((v) => v.version);
        const stable = svc.stable ?? versions[0]!;
        must(
          await client.create(DESTINATION_RULES, ns, {
            apiVersion: 'networking.istio.io/v1',
            kind: 'DestinationRule',
            metadata: { name: svc.name, namespace: ns },
            spec: { host: svc.name, subsets: versions.map((v) => ({ name: v, labels: { version: v } })) },
          }),
        );
        must(
          await client.create(VIRTUAL_SERVICES, ns, {
            apiVersion: 'networking.istio.io/v1',
            kind: 'VirtualService',
            metadata: { name: svc.name, namespace: ns },
            spec: {
              hosts: [svc.name],
              http: [
                // a route the operator must leave alone, byte for byte
                {
                  name: 'health',
                  match: [{ uri: { exact: '/health' } }],
                  route: [{ destination: { host: svc.name, subset: stable } }],
                },
                {
                  name: svc.route ?? 'primary',
                  ...(svc.routeFields ?? { retries: { attempts: 0 } }),
                  route: [{ destination: { host: svc.name, subset: stable } }],
                },
              ],
            },
          }),
        );
        for (const v of versions) {
          must(
            await client.create(
              DEPLOYMENTS,
              ns,
              deployment(ns, `${svc.name}-${v}`, { app: svc.name, version: v }),
            ),
          );
        }
      }
      sim = await TrafficSimulator.start({
        kubeConfig: kc,
        namespace: ns,
        seed: opts.seed ?? 7,
        refreshMs: 200,
        ...(opts.source ? { source: opts.source } : {}),
        services: opts.services.map(({ name, versions, protocol, versionServices }) => ({
          name,
          versions,
          ...(protocol ? { protocol } : {}),
          ...(versionServices ? { versionServices } : {}),
        })),
      });
      const env = new E2eEnv(ns, kc, client, sim, opts.prometheusUrl ?? cluster.prometheusUrl, () =>
        namespace.dispose(),
      );
      if (opts.scrapeShared ?? true) {
        env.removeTarget = addScrapeTarget(`e2e-${ns}`, sim.metricsAddress, { sim: ns });
      }
      return env;
    } catch (e) {
      await sim?.stop();
      await namespace.dispose();
      throw e;
    }
  }

  /** Starts this namespace's operator (Lease in the namespace) and waits until it leads. */
  async startOperator(identity = 'e2e-operator'): Promise<OperatorHandle> {
    const op = await startOperator({
      kubeConfig: this.kc,
      prometheusUrl: this.prometheusUrl,
      prometheusTimeoutMs: 1500,
      namespace: this.ns,
      identity,
      leaderElection: {
        namespace: this.ns,
        name: 'canary-operator',
        ...SOLE_LEASE,
      },
      listen: '127.0.0.1:0',
      logger: createLogger({ level: 'debug', sink: (e) => this.logs.push(e) }),
    });
    this.operator = op;
    await waitFor('the operator to lead', () => (op.isLeader() ? true : undefined), 10_000, 50);
    return op;
  }

  /** Starts bounded background load; stopped by `dispose`. */
  load(opts: LoadOptions): LoadHandle {
    const l = this.sim.startLoad({ concurrency: 64, ...opts });
    this.loads.push(l);
    return l;
  }

  async createRelease(name: string, spec: CanaryReleaseSpecInput): Promise<CanaryReleaseObject> {
    return must(
      await this.client.create<CanaryReleaseObject>(
        CANARY_RELEASES,
        this.ns,
        canaryRelease(this.ns, name, spec),
      ),
    );
  }

  async release(name: string): Promise<CanaryReleaseObject> {
    return must(await this.client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: this.ns, name }));
  }

  async status(name: string): Promise<CanaryReleaseStatus | undefined> {
    return (await this.release(name)).status as CanaryReleaseStatus | undefined;
  }

  async virtualService(name: string): Promise<KubeObject & { spec: { http: HttpRouteView[] } }> {
    return must(await this.client.get(VIRTUAL_SERVICES, { namespace: this.ns, name })) as KubeObject & {
      spec: { http: HttpRouteView[] };
    };
  }

  /** The managed route's destinations as `subset=weight`, in order. */
  async weights(vs: string, route = 'primary'): Promise<string[]> {
    const r = (await this.virtualService(vs)).spec.http.find((x) => x.name === route);
    if (!r) throw new Error(`VirtualService ${vs} has no route ${route}`);
    return (r.route ?? []).map((d) => `${d.destination.subset}=${d.weight ?? 100}`);
  }

  /** Events regarding one object, oldest first, once the `expected` reasons are there (see {@link eventsRegarding}). */
  events(name: string, expected: readonly string[] = []): Promise<EventView[]> {
    return eventsRegarding(this.client, this.ns, name, expected);
  }

  /** Waits for the release's status to satisfy `pred`. */
  async waitStatus(
    name: string,
    what: string,
    pred: (s: CanaryReleaseStatus) => boolean,
    timeoutMs = 60_000,
    everyMs = 100,
  ): Promise<CanaryReleaseStatus> {
    return this.explained(
      name,
      waitFor(
        `${name}: ${what}`,
        async () => {
          const s = await this.status(name);
          return s && pred(s) ? s : undefined;
        },
        timeoutMs,
        everyMs,
      ),
    );
  }

  /** `p`, or its error with what the release, Prometheus and the operator said, to tell why. */
  async explained<T>(name: string, p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await this.diagnose(name)}`, { cause: e });
    }
  }

  /** The release's status, whether Prometheus scrapes the simulator, and the operator's last logs. */
  async diagnose(name: string): Promise<string> {
    const s = await this.status(name).catch((e: Error) => e.message);
    const up = await queryNumber(this.prometheusUrl, `up{sim="${this.ns}"}`);
    const infos = this.logs.filter((e) => e.level !== 'debug');
    return [
      `status: ${JSON.stringify(s)}`,
      `Prometheus up{sim="${this.ns}"}: ${up}`,
      'operator log (last 25 non-debug entries):',
      ...infos.slice(-25).map((e) => JSON.stringify(e)),
    ].join('\n');
  }

  /**
   * Polls a release and its route until it finishes (Succeeded or RolledBack) or `timeoutMs`
   * passes; records each distinct `phase/step weights` state with the time it was first seen.
   */
  async traceUntilFinished(
    name: string,
    vs: string,
    timeoutMs: number,
    onSample?: (s: CanaryReleaseStatus | undefined) => Promise<void> | void,
  ): Promise<{ final: CanaryReleaseStatus; trace: Trace }> {
    const trace: Trace = { lines: [], times: [] };
    const final = await this.explained(
      name,
      waitFor(
        `${name} to finish`,
        async () => {
          const s = await this.status(name);
          const line = `${s?.phase}/${s?.currentStep} ${(await this.weights(vs)).join(',')}`;
          if (trace.lines[trace.lines.length - 1] !== line) {
            trace.lines.push(line);
            trace.times.push(Date.now());
          }
          await onSample?.(s);
          return s?.phase === 'Succeeded' || s?.phase === 'RolledBack' ? s : undefined;
        },
        timeoutMs,
        100,
      ),
    );
    return { final, trace };
  }

  /** Sets the resume annotation to `<generation>/<step>`, as `kubectl annotate` (or the CLI) does. */
  async annotate(name: string, annotations: Record<string, string>): Promise<void> {
    must(
      await this.client.mergePatch(
        CANARY_RELEASES,
        { namespace: this.ns, name },
        { metadata: { annotations } },
      ),
    );
  }

  /** The last log lines of the operator, for a failed test's output. */
  tail(n = 60): string {
    return this.logs
      .slice(-n)
      .map((e) => JSON.stringify(e))
      .join('\n');
  }

  async dispose(): Promise<void> {
    await this.operator?.stop();
    await Promise.all(this.loads.map((l) => l.stop()));
    this.removeTarget();
    await this.sim.stop();
    await this.disposeNs();
  }
}

/** Whether the running test has failed an assertion so far (to print the operator's logs). */
export function testFailed(): boolean {
  const state = expect.getState();
  return state.assertionCalls !== state.numPassingAsserts;
}

/** The operator's own success-rate query for a workload of `ns` (the destination's report). */
export function successRateQuery(ns: string, workload: string, interval: string): string {
  const q = renderQuery('istio', 'request-success-rate', {
    namespace: ns,
    workload,
    interval,
    reporter: 'destination',
  });
  if (!q.ok) throw new Error(q.error.message);
  return q.value;
}

/** One instant query; undefined when Prometheus has no number (no data or failed). */
export async function queryNumber(url: string, promql: string): Promise<number | undefined> {
  const r = await new PrometheusProvider({ url, timeoutMs: 2000 }).query(promql);
  return r.ok ? r.value : undefined;
}

/** Sends `n` requests one after the other and counts the versions that answered. */
export async function sample(
  sim: TrafficSimulator,
  host: string,
  n: number,
  headers: Record<string, string> = {},
): Promise<Record<string, number>> {
  const byVersion: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const o = await sim.send({ host, headers });
    const v = o.version ?? `none(${o.status})`;
    byVersion[v] = (byVersion[v] ?? 0) + 1;
  }
  return byVersion;
}

export const sinceMs = (t0: number) => Date.now() - t0;
