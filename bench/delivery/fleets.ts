/**
 * Both controllers at a count of releases (`npm run bench -- delivery`, after the rounds): for each
 * count N, a fleet of N apps (`../fleet.ts`) for ours and then one for Flagger, each measured with
 * a controller process of its own started for it and watching only the fleet's namespace, so
 * neither process holds the other's objects.
 *
 * The same shape for both: per app two Deployments run by kwok and one release whose analysis runs
 * every `INTERVAL_S` with no traffic, so every check finds no data.
 * - ours: `<app>-v1` and `<app>-v2`, a VirtualService, a DestinationRule and a CanaryRelease
 *   (`missingData: Hold`): each release holds at its first step and is checked every interval;
 * - Flagger: the target `<app>-v2` and the `<app>-v2-primary` Flagger makes from it (with its
 *   Services, DestinationRules and VirtualService), and a Canary; once Flagger has initialized
 *   every Canary, each target's pod template is changed, Flagger scales it up and starts the
 *   analysis, and each check finds no data ("no values found"), which Flagger counts as a failed
 *   check (threshold high enough that none rolls back within the window).
 *
 * Then, over a window of `windowS` once every release is in its analysis: the controller's RSS
 * (most of the per-second samples from /proc, and how much of that sample was the process's own
 * memory rather than pages of its executable), CPU seconds per minute (/proc utime + stime) and
 * the writes per minute the apiserver's audit log counts for its ServiceAccount, and for ours the
 * reconcile latency p50 / p99 from its `/metrics` (Flagger exposes no comparable measure). Every
 * wait is bounded in count and time.
 */
import type * as k8s from '@kubernetes/client-node';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  KubeClient,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { auditEntries, auditMark } from '../../test/harness/audit.js';
import { cluster } from '../../test/harness/cluster.js';
import type { ControlPlane } from '../../test/harness/control-plane.js';
import { deployment } from '../../test/integration/operator-fixtures.js';
import { reconcileQuantile } from '../operator-metrics.js';
import { canaryReleaseObjects, createFleet, inParallel, type Fleet, type FleetApp } from '../fleet.js';
import { startFlagger, startOurs, type ControllerProcess, type Identity } from './controllers.js';
import { processUsage } from '../process-usage.js';
import { GROUP_FLAGGER, INTERVAL_S, MAX_P99_MS, MIN_SUCCESS, type Controller } from './scenarios.js';

export interface FleetRow {
  readonly controller: Controller;
  readonly releases: number;
  /** Controller start → every release in its analysis. */
  readonly inAnalysisS: number;
  readonly rssMiB: number;
  /** Of that sample, pages of mapped files (the executable, mostly). */
  readonly fileMiB: number;
  readonly cpuPerMin: number;
  readonly writesPerMin: number;
  /** The writes of the window by `verb resource[/subresource]`. */
  readonly writes: string;
  /** Reconcile latency p50 / p99 over the window, where the controller exposes it (ours). */
  readonly reconcile?: string;
}

/**
 * A Flagger Canary of a fleet app: target `<app>-v2`, Services named after the app, the bench's
 * analysis settings, and a threshold no window reaches (each check without data fails).
 */
function flaggerFleetCanary(app: FleetApp): KubeObject {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: app.name, namespace: app.namespace },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app.canary.deployment },
      progressDeadlineSeconds: 3600,
      service: { name: app.name, port: 9898 },
      analysis: {
        interval: `${INTERVAL_S}s`,
        threshold: 100_000,
        stepWeight: 10,
        maxWeight: 50,
        metrics: [
          { name: 'request-success-rate', thresholdRange: { min: MIN_SUCCESS }, interval: `${INTERVAL_S}s` },
          { name: 'request-duration', thresholdRange: { max: MAX_P99_MS }, interval: `${INTERVAL_S}s` },
        ],
      },
    },
  } as KubeObject;
}

/** Polls `count` once a second until it reaches `want`; fails after `timeoutMs` saying how far it got. */
async function until(
  what: string,
  count: () => Promise<number>,
  want: number,
  timeoutMs: number,
): Promise<void> {
  const t0 = Date.now();
  let got = 0;
  for (let i = 0; i < Math.ceil(timeoutMs / 1000) + 1; i++) {
    got = await count().catch(() => got);
    if (got >= want) return;
    if (Date.now() - t0 > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${got}/${want} ${what} after ${Math.round(timeoutMs / 1000)} s`);
}

/** How many of the fleet's objects of `type` pass `ok`. */
async function counted(
  client: KubeClient,
  type: Parameters<KubeClient['list']>[0],
  ns: string,
  ok: (o: KubeObject) => boolean,
): Promise<number> {
  const list = await client.list(type, ns);
  return list.ok ? list.value.items.filter(ok).length : 0;
}

/** Measures the controller `start` gives over `windowS`, once `ready` says every release is in its analysis. */
async function window(
  controller: Controller,
  fleet: Fleet,
  id: Identity,
  start: () => Promise<ControllerProcess>,
  ready: (t0: number) => Promise<void>,
  windowS: number,
): Promise<FleetRow> {
  const t0 = Date.now();
  const proc = await start();
  try {
    await ready(t0);
    const inAnalysisS = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const mark = auditMark();
    const m0 = await proc.metrics?.();
    const u0 = processUsage(proc.pid);
    const w0 = Date.now();
    let peak = u0;
    while (Date.now() - w0 < windowS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      const u = processUsage(proc.pid);
      if (u.rssMiB > peak.rssMiB) peak = u;
    }
    const u1 = processUsage(proc.pid);
    const m1 = await proc.metrics?.();
    const minutes = (Date.now() - w0) / 60_000;
    const writes = auditEntries(mark).filter(
      (e) => e.user === id.user && ['create', 'update', 'patch', 'delete'].includes(e.verb),
    );
    const by = new Map<string, number>();
    for (const e of writes) {
      const k = `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
      by.set(k, (by.get(k) ?? 0) + 1);
    }
    return {
      controller,
      releases: fleet.apps.length,
      inAnalysisS,
      rssMiB: peak.rssMiB,
      fileMiB: peak.fileMiB,
      cpuPerMin: (u1.cpuS - u0.cpuS) / minutes,
      writesPerMin: writes.length / minutes,
      writes: [...by].map(([k, n]) => `${k} ${(n / minutes).toFixed(0)}/min`).join(', ') || 'none',
      ...(m0 && m1
        ? { reconcile: `${reconcileQuantile(m0, m1, 0.5)} / ${reconcileQuantile(m0, m1, 0.99)}` }
        : {}),
    };
  } finally {
    await proc.stop();
  }
}

/** Ours at `size` releases: the fleet, then the operator (as it ships) on its namespace. */
export async function measureOurs(
  cp: ControlPlane,
  id: Identity,
  size: number,
  windowS: number,
  log: (l: string) => void,
): Promise<FleetRow> {
  const kc: k8s.KubeConfig = cluster.kubeConfig();
  const client = new KubeClient(kc);
  const fleet = await createFleet({
    kubeConfig: kc,
    size,
    prefix: `delivery-fleet-ours-${size}`,
    parallel: 32,
    release: canaryReleaseObjects({
      interval: `${INTERVAL_S}s`,
      steps: [{ setWeight: 10 }, { setWeight: 50 }],
    }),
    log,
  });
  try {
    return await window(
      'cdk8s-mesh',
      fleet,
      id,
      () => startOurs(cp, id, fleet.namespace),
      () =>
        until(
          `releases of ${fleet.namespace} holding on missing data`,
          () =>
            counted(client, CANARY_RELEASES, fleet.namespace, (r) => {
              const st = r.status as { phase?: string; missingDataSince?: string } | undefined;
              return st?.phase === 'Progressing' && st.missingDataSince !== undefined;
            }),
          size,
          900_000,
        ),
      windowS,
    );
  } finally {
    await fleet.dispose();
  }
}

/** Flagger at `size` Canaries: the fleet, then Flagger on its namespace, then a new revision of every target. */
export async function measureFlagger(
  cp: ControlPlane,
  bin: string,
  id: Identity,
  size: number,
  windowS: number,
  log: (l: string) => void,
): Promise<FleetRow> {
  const kc: k8s.KubeConfig = cluster.kubeConfig();
  const client = new KubeClient(kc);
  const fleet = await createFleet({
    kubeConfig: kc,
    size,
    prefix: `delivery-fleet-flagger-${size}`,
    parallel: 32,
    workloads: (app) => [
      { type: DEPLOYMENTS, body: deployment(app.namespace, app.canary.deployment, { app: app.name }) },
    ],
    release: (app) => [{ type: GROUP_FLAGGER, body: flaggerFleetCanary(app) }],
    log,
  });
  const phase = (want: string) => (c: KubeObject) =>
    (c.status as { phase?: string } | undefined)?.phase === want;
  try {
    return await window(
      'Flagger',
      fleet,
      id,
      () => startFlagger(cp, bin, id, fleet.namespace),
      async (t0) => {
        await until(
          `Canaries of ${fleet.namespace} Initialized`,
          () => counted(client, GROUP_FLAGGER, fleet.namespace, phase('Initialized')),
          size,
          900_000,
        );
        log(
          `Flagger ${size}: every Canary Initialized ${((Date.now() - t0) / 1000).toFixed(1)} s after its start`,
        );
        await inParallel(fleet.apps, 16, async (app) => {
          const res = await client.mergePatch(
            DEPLOYMENTS,
            { namespace: app.namespace, name: app.canary.deployment },
            { spec: { template: { metadata: { annotations: { 'bench.cdk8s-mesh.io/revision': '2' } } } } },
          );
          if (!res.ok) throw new Error(`new revision of ${app.canary.deployment}: ${res.error.message}`);
        });
        await until(
          `Canaries of ${fleet.namespace} Progressing`,
          () => counted(client, GROUP_FLAGGER, fleet.namespace, phase('Progressing')),
          size,
          900_000,
        );
      },
      windowS,
    );
  } finally {
    await fleet.dispose();
  }
}
