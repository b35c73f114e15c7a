/**
 * One service split 50/50 between two subsets by a VirtualService on the real apiserver, served by
 * the traffic simulator (a test stand-in for Envoy) whose metrics the shared Prometheus scrapes:
 * the setup of the tests that read Istio's standard metrics back from real Prometheus.
 */
import * as k8s from '@kubernetes/client-node';
import type { MetricResult } from '../../operator/adapters/prometheus.js';
import { addScrapeTarget, cluster, testNamespace } from '../harness/cluster.js';
import { TrafficSimulator, type SimulatedService } from '../harness/traffic/index.js';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';

export interface ScrapedSplit {
  readonly ns: string;
  readonly sim: TrafficSimulator;
  dispose(): Promise<void>;
}

/** `service` with subsets `subsets[0]` / `subsets[1]` (label `version` of each `versions` entry). */
export async function startScrapedSplit(opts: {
  readonly prefix: string;
  readonly seed: number;
  readonly service: SimulatedService;
  readonly subsets: readonly [{ name: string; version: string }, { name: string; version: string }];
}): Promise<ScrapedSplit> {
  const kc = cluster.kubeConfig();
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const ns = await testNamespace(opts.prefix);
  const host = opts.service.name;
  const create = (plural: string, kind: string, spec: unknown) =>
    api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name: host }, spec },
    });
  await create('destinationrules', 'DestinationRule', {
    host,
    subsets: opts.subsets.map((s) => ({ name: s.name, labels: { version: s.version } })),
  });
  await create('virtualservices', 'VirtualService', {
    hosts: [host],
    http: [
      {
        retries: { attempts: 0 },
        route: opts.subsets.map((s) => ({ destination: { host, subset: s.name }, weight: 50 })),
      },
    ],
  });
  const sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: ns.name,
    seed: opts.seed,
    services: [opts.service],
  });
  const removeTarget = addScrapeTarget(`${opts.prefix}-${ns.name}`, sim.metricsAddress, { sim: ns.name });
  return {
    ns: ns.name,
    sim,
    async dispose() {
      removeTarget();
      await sim.stop();
      await ns.dispose();
    },
  };
}

/** The number a metric result holds; a failure names its kind, message and query. */
export function value(r: MetricResult): number {
  if (!r.ok)
    throw new Error(
      `expected a value, got ${r.error.kind}: ${r.error.message}${r.error.query ? ` (query: ${r.error.query})` : ''}`,
    );
  return r.value;
}
