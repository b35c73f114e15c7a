/**
 * One reconcile of one CanaryRelease: read the CR → parseSpec → observe (the route through
 * the traffic router, the canary Deployment's readiness, Prometheus) → `decide` → carry out the
 * route actions in one VirtualService patch → only if that worked, write the whole status in one
 * patch (skipped when unchanged) → Deployment scales → Events → webhook notifications → requeue
 * when `decide` says.
 *
 * Both writes carry the resourceVersion they were decided on. When either is refused because the
 * object changed, the reconcile starts over from the reads (at most `maxConflicts` times): a
 * decision is never applied to a world it did not see. A crash or a refusal between the route
 * write and the status write is safe: `decide` treats weights one step ahead of the status as its
 * own and converges again.
 *
 * An invalid spec is handed to `decide` without any route, readiness or metric read: it yields
 * the Invalid phase, a condition and an Event, and no route action.
 */
import {
  backendServiceOf,
  drivenRoute,
  parseSpec,
  readCommands,
  type CanaryReleaseSpec,
  type CanaryReleaseStatus,
} from '../../api/v1alpha1/canary-release.js';
import { Reason, isRunningPhase } from '../../api/v1alpha1/constants.js';
import type { TrafficSnapshot, TrafficTarget } from '../adapters/routers.js';
import { releaseSubject, type CanaryReleaseObject, type ObjectRef } from '../adapters/kubernetes.js';
import { analysisDue, decide, type Action, type Observations, type Readiness } from '../core/index.js';
import { isRouteAction, type VirtualServiceSpec } from '../core/routes.js';
import type { GatewayRouteSpec } from '../core/gateway-routes.js';
import { sameStatus } from '../core/status.js';
import { observeMetrics } from './analysis-metrics.js';
import { sleep, type Clock } from './clock.js';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';
import type {
  AnalysisMetrics,
  DeploymentScaler,
  EventRecorder,
  ReleaseReader,
  StatusWriter,
  TrafficRouter,
} from './ports.js';
import type { HandlerResult } from './workqueue.js';

/** A reconcile that could not finish; the work queue retries it with backoff. */
export class ReconcileError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'ReconcileError';
  }
}

/** What the reconciler works with: interfaces at every edge (see `ports.ts`), a clock, logs and metrics. */
export interface ReconcilerDeps {
  /** The CanaryRelease's store: read it and its Deployments, write its status, scale the losing version, record Events. */
  readonly kube: ReleaseReader & StatusWriter & EventRecorder & DeploymentScaler;
  readonly router: TrafficRouter;
  readonly prometheus: AnalysisMetrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  /** Time allowed for one webhook POST. @default 5000 */
  readonly webhookTimeoutMs?: number;
  /**
   * POSTs per notification: a refused connection, a timeout, 408, 429 or a 5xx is tried again
   * after 1 s, 2 s, … (doubling), or later when the answer's Retry-After asks (at most 30 s);
   * other answers are final. @default 3
   */
  readonly webhookAttempts?: number;
  /** Wait before the first retry of a webhook. @default 1000 */
  readonly webhookBackoffMs?: number;
  /** Reads and decides again at most this many times when a write is refused. @default 5 */
  readonly maxConflicts?: number;
}

/** What one pass decided and did, for logs and tests. */
export interface ReconcileReport {
  readonly phase?: string;
  readonly step?: number;
  readonly canaryWeight?: number;
  readonly actions: readonly Action['type'][];
  readonly statusWritten: boolean;
  readonly conflicts: number;
  readonly requeueAfter: number | null;
}

/** The route a valid spec drives: a VirtualService route, or an HTTPRoute/GRPCRoute rule. */
export function routeTarget(obj: CanaryReleaseObject, spec: CanaryReleaseSpec): TrafficTarget {
  const namespace = obj.metadata.namespace ?? 'default';
  const release = obj.metadata.name;
  const r = drivenRoute(spec);
  if (r.kind !== 'VirtualService') {
    const template = (spec.httpRoute ?? spec.grpcRoute)?.template;
    return {
      kind: r.kind,
      namespace,
      release,
      name: r.name,
      rule: r.route,
      stableSubset: spec.stable.subset,
      canarySubset: spec.canary.subset,
      stableBackend: backendServiceOf(spec, 'stable'),
      canaryBackend: backendServiceOf(spec, 'canary'),
      ...(template
        ? {
            template: {
              // schemaless to the apiserver; the Gateway API's schema judges it when it is written
              spec: template.spec as GatewayRouteSpec,
              ...(template.metadata ? { metadata: template.metadata } : {}),
            },
          }
        : {}),
    };
  }
  const vs = spec.virtualService!;
  return {
    namespace,
    release,
    virtualService: r.name,
    route: r.route,
    service: spec.service,
    stableSubset: spec.stable.subset,
    canarySubset: spec.canary.subset,
    ...(vs.template
      ? {
          template: {
            // schemaless to the apiserver; Istio's own validation judges it when it is written
            spec: vs.template.spec as VirtualServiceSpec,
            ...(vs.template.metadata ? { metadata: vs.template.metadata } : {}),
          },
        }
      : {}),
  };
}

function currentStep(status: unknown): { phase?: string; step: number } {
  const s = status as Partial<CanaryReleaseStatus> | undefined;
  return { phase: s?.phase, step: typeof s?.currentStep === 'number' ? s.currentStep : 0 };
}

export class Reconciler {
  private readonly pendingWebhooks = new Set<Promise<void>>();
  /** Aborted by `flush`: notifications under way make no further retries. */
  private readonly stopRetries = new AbortController();
  /** The last report per key, for tests and debugging. */
  readonly last = new Map<string, ReconcileReport>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** The work-queue handler: reconciles `namespace/name`. */
  readonly handle = async (key: string): Promise<HandlerResult> => {
    const [namespace, name] = key.split('/', 2) as [string, string];
    const started = performance.now();
    let result = 'ok';
    try {
      const report = await this.reconcile({ namespace, name });
      if (report) this.last.set(key, report);
      return { requeueAfter: report?.requeueAfter ?? null };
    } catch (e) {
      result = 'error';
      throw e;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.deps.metrics.reconciles.inc({ result });
      this.deps.metrics.reconcileSeconds.observe({ result }, seconds);
    }
  };

  /** Waits (bounded by their timeouts) for webhook notifications under way; they are not retried after this. */
  async flush(): Promise<void> {
    this.stopRetries.abort();
    await Promise.allSettled([...this.pendingWebhooks]);
  }

  async reconcile(ref: ObjectRef): Promise<ReconcileReport | undefined> {
    const { kube, router, clock, metrics } = this.deps;
    const log = this.deps.log.with({ release: `${ref.namespace}/${ref.name}` });
    const maxConflicts = this.deps.maxConflicts ?? 5;
    for (let conflicts = 0; conflicts <= maxConflicts; conflicts++) {
      /** A write refused because `object` changed since it was read: count it, then observe again. */
      const refused = (
        object: 'VirtualService' | 'HTTPRoute' | 'GRPCRoute' | 'CanaryRelease',
        writes: OperatorMetrics['routeWrites'],
      ) => {
        metrics.conflicts.inc({ object });
        writes.inc({ result: 'conflict' });
        log.info(`${object} changed since it was read: observing again`, { conflicts: conflicts + 1 });
      };
      // After a refused write, read everything from the apiserver rather than a cache.
      const read = { fresh: conflicts > 0 };
      const got = await kube.getRelease(ref, read);
      if (!got.ok) {
        if (got.error.kind === 'NotFound') return undefined;
        throw new ReconcileError(got.error.message, 'ReadFailed');
      }
      const obj = got.value;
      if (obj.metadata.deletionTimestamp) return undefined;
      const generation = obj.metadata.generation ?? 0;
      const commands = readCommands(obj.metadata.annotations);
      const parsed = parseSpec(obj.spec);
      // One instant for the whole pass: the metrics are fetched when a check is due at it, and
      // decide runs at it, so decide never finds a check due that was not fetched for.
      const now = new Date(clock.now());

      let observations: Observations;
      let target: TrafficTarget | undefined;
      let snapshot: TrafficSnapshot | undefined;
      if (!parsed.ok) {
        observations = {
          generation,
          commands,
          route: { found: false, reason: Reason.VirtualServiceNotFound },
          metrics: {},
        };
      } else {
        const spec = parsed.spec;
        target = routeTarget(obj, spec);
        const prev = currentStep(obj.status);
        const analysing =
          isRunningPhase(prev.phase) &&
          (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration === generation &&
          analysisDue(spec, obj.status, now);
        if (analysing) metrics.analyses.inc();
        const readDeployment = (name: string | undefined) =>
          name ? kube.readiness({ namespace: ref.namespace, name }, read) : Promise.resolve(undefined);
        const [snap, ready, stableRead, measured] = await Promise.all([
          router.getRoutes(target, read),
          readDeployment(spec.canary.deployment),
          readDeployment(spec.stable.deployment),
          analysing
            ? observeMetrics(this.deps.prometheus, spec, ref.namespace, prev.step)
            : Promise.resolve({}),
        ]);
        if (!snap.ok && snap.error.kind === 'Conflict') {
          // An owned route object changed while its template was written into it.
          refused(drivenRoute(spec).kind, metrics.routeWrites);
          continue;
        }
        if (
          !snap.ok &&
          target.template &&
          (snap.error.kind === 'Invalid' || snap.error.kind === 'Forbidden')
        ) {
          // The apiserver refused the route object written from the template: say what to fix.
          const { kind, name, field } = drivenRoute(spec);
          const plural = kind === 'VirtualService' ? 'virtualservices' : kind.toLowerCase() + 's';
          const api = kind === 'VirtualService' ? 'networking.istio.io/v1' : 'gateway.networking.k8s.io/v1';
          metrics.routeWrites.inc({ result: 'error' });
          await this.event(
            obj,
            'Warning',
            Reason.RouteUpdateFailed,
            `could not write ${kind} ${name} from .spec.${field}.template: ${snap.error.message}; ${
              snap.error.kind === 'Invalid'
                ? `correct the template (it must be a valid ${api} ${kind} spec)`
                : `grant the operator get, create and patch on ${plural} (its install manifests do)`
            }; the release waits and the write is retried`,
          );
          throw new ReconcileError(snap.error.message, Reason.RouteUpdateFailed);
        }
        if (!snap.ok) throw new ReconcileError(snap.error.message, 'RouteReadFailed');
        if (ready && !ready.ok) throw new ReconcileError(ready.error.message, 'ReadinessReadFailed');
        if (stableRead && !stableRead.ok)
          throw new ReconcileError(stableRead.error.message, 'ReadinessReadFailed');
        snapshot = snap.value;
        const canary: Readiness | undefined = ready?.ok ? ready.value : undefined;
        const stable: Readiness | undefined = stableRead?.ok ? stableRead.value : undefined;
        observations = {
          generation,
          commands,
          route: snapshot.observation,
          ...(canary ? { canary } : {}),
          ...(stable ? { stable } : {}),
          metrics: measured,
        };
      }

      let decision = decide(obj.spec, obj.status, observations, now);
      const routeActions = decision.actions.filter(isRouteAction);

      // 1. Routes. Nothing else is written unless they are.
      if (routeActions.length > 0) {
        if (!target || !snapshot) {
          // decide never asks for route changes it has not seen a route for; this is a bug.
          throw new ReconcileError('route actions without an observed route', 'Bug');
        }
        const applied = await router.apply(target, snapshot, routeActions);
        if (!applied.ok) {
          const routeKind = parsed.ok ? drivenRoute(parsed.spec).kind : 'VirtualService';
          if (applied.error.kind === 'Conflict') {
            refused(routeKind, metrics.routeWrites);
            continue;
          }
          metrics.routeWrites.inc({ result: 'error' });
          await this.event(
            obj,
            'Warning',
            Reason.RouteUpdateFailed,
            `could not update ${routeKind} ${parsed.ok ? drivenRoute(parsed.spec).name : ''}: ${applied.error.message}; the status is left as it was and the update is retried`,
          );
          throw new ReconcileError(applied.error.message, Reason.RouteUpdateFailed);
        }
        metrics.routeWrites.inc({ result: 'ok' });
        const o = applied.value.observation;
        if (routeActions.some((a) => a.type === 'SetFault') && o.found && o.headerRoutes.length === 0) {
          await this.event(
            obj,
            'Warning',
            Reason.FaultOnWholeRoute,
            `the fault of this step is on route ${parsed.ok ? drivenRoute(parsed.spec).route : ''} as a whole, stable's share included: Istio injects faults per route, before a weighted destination is chosen. Put a headerRoute step before the faultTest to fault only the canary's header-routed traffic`,
          );
        }
        log.info('routes updated', { actions: routeActions.map((a) => a.type), observation: o });
        // What the next pass would conclude from the route as the apiserver stored it (a promoted
        // release's routes are settled, the scale-down is scheduled), decided now at the same
        // instant and written in this pass's one status patch, instead of a second patch a moment
        // later. Only when it asks for no further route change; its Events and notifications
        // follow this pass's.
        const settled = decide(obj.spec, decision.status, { ...observations, route: o }, now);
        if (!settled.actions.some(isRouteAction)) {
          decision = {
            status: settled.status,
            actions: [...decision.actions, ...settled.actions],
            requeueAfter: settled.requeueAfter,
          };
        }
      }

      // 2. Status, in one patch, only if it changed.
      let statusWritten = false;
      if (!sameStatus(obj.status, decision.status)) {
        const written = await kube.writeStatus(
          ref,
          obj.metadata.resourceVersion ?? '',
          obj.status,
          decision.status,
        );
        if (!written.ok) {
          if (written.error.kind === 'Conflict') {
            refused('CanaryRelease', metrics.statusWrites);
            continue;
          }
          if (written.error.kind === 'NotFound') {
            // Deleted since it was read: the release is let go, as when the read finds it gone.
            metrics.statusWrites.inc({ result: 'gone' });
            log.debug('CanaryRelease deleted since it was read: letting go');
            return undefined;
          }
          metrics.statusWrites.inc({ result: 'error' });
          throw new ReconcileError(written.error.message, 'StatusUpdateFailed');
        }
        statusWritten = written.value.written;
      }
      metrics.statusWrites.inc({ result: statusWritten ? 'written' : 'unchanged' });

      // 3. Deployment scales, after the status that records them (the replicas to give back),
      //    so a crash in between leaves a record the next pass converges on; a failed scale is
      //    retried by the work queue, and decide asks for it again until it is read back.
      for (const a of decision.actions) {
        if (a.type !== 'ScaleDeployment') continue;
        const scaled = await kube.scaleDeployment(
          { namespace: ref.namespace, name: a.deployment },
          a.replicas,
        );
        if (!scaled.ok) {
          log.warn('could not scale a Deployment', {
            deployment: a.deployment,
            replicas: a.replicas,
            error: scaled.error.message,
          });
          throw new ReconcileError(scaled.error.message, 'ScaleFailed');
        }
        log.info('Deployment scaled', { deployment: a.deployment, replicas: a.replicas });
      }

      // 4. Events, outcomes and notifications: only once the state they tell of is stored.
      for (const a of decision.actions) {
        if (a.type === 'EmitEvent') await this.event(obj, a.eventType, a.reason, a.message);
        else if (a.type === 'Promote' || a.type === 'RollBack') {
          metrics.decisions.inc({ outcome: a.type === 'Promote' ? 'Promoted' : 'RolledBack' });
          log.info(a.type === 'Promote' ? 'release promoted' : 'release rolled back', {
            ...(a.type === 'RollBack' ? { reason: a.reason, message: a.message } : {}),
          });
        } else if (a.type === 'Notify') this.notify(obj, a, log);
      }
      const st = decision.status;
      const report: ReconcileReport = {
        phase: st.phase,
        step: st.currentStep,
        canaryWeight: st.canaryWeight,
        actions: decision.actions.map((a) => a.type),
        statusWritten,
        conflicts,
        requeueAfter: decision.requeueAfter,
      };
      if (statusWritten || routeActions.length > 0) {
        log.info('reconciled', { ...report, message: st.message });
      } else {
        log.debug('reconciled, nothing changed', { ...report });
      }
      return report;
    }
    metrics.reconciles.inc({ result: 'conflict-exhausted' });
    throw new ReconcileError(
      `the CanaryRelease or its VirtualService kept changing during ${maxConflicts + 1} tries`,
      'ConflictsExhausted',
    );
  }

  private async event(obj: CanaryReleaseObject, type: 'Normal' | 'Warning', reason: string, message: string) {
    const res = await this.deps.kube.emitEvent(
      releaseSubject(obj),
      type,
      reason,
      message,
      new Date(this.deps.clock.now()),
    );
    this.deps.metrics.events.inc({ type, reason });
    if (!res.ok) {
      this.deps.log.warn('could not record an Event', {
        release: `${obj.metadata.namespace}/${obj.metadata.name}`,
        reason,
        error: res.error.message,
      });
    }
  }

  private notify(obj: CanaryReleaseObject, a: Extract<Action, { type: 'Notify' }>, log: Logger): void {
    const timeoutMs = this.deps.webhookTimeoutMs ?? 5000;
    const body = JSON.stringify({
      release: obj.metadata.name,
      namespace: obj.metadata.namespace,
      event: a.event,
      message: a.message,
      step: a.step,
      canaryWeight: a.canaryWeight,
      webhook: a.webhook,
      time: new Date(this.deps.clock.now()).toISOString(),
    });
    const attempts = Math.max(1, this.deps.webhookAttempts ?? 3);
    const backoffMs = this.deps.webhookBackoffMs ?? 1000;
    const stop = this.stopRetries.signal;
    const fields = { webhook: a.webhook, event: a.event };
    const send = async (): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        let result: 'ok' | 'error' | 'timeout';
        let detail: Record<string, unknown>;
        let retryable: boolean;
        let retryAfterMs: number | undefined;
        try {
          const res = await fetch(a.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          await res.body?.cancel().catch(() => undefined);
          if (res.status >= 200 && res.status < 300) {
            this.deps.metrics.webhooks.inc({ result: 'ok' });
            if (attempt > 1) log.info('webhook delivered after a retry', { ...fields, attempts: attempt });
            return;
          }
          result = 'error';
          detail = { status: res.status };
          retryable = res.status >= 500 || res.status === 408 || res.status === 429;
          retryAfterMs = retryAfter(res.headers.get('retry-after'), this.deps.clock.now());
        } catch (e) {
          result = (e as Error)?.name === 'TimeoutError' ? 'timeout' : 'error';
          detail = { error: (e as Error)?.message ?? String(e) };
          retryable = true;
        }
        const what =
          result === 'timeout'
            ? `webhook did not answer within ${timeoutMs} ms`
            : 'status' in detail
              ? 'webhook answered with an error'
              : 'webhook could not be reached';
        if (!retryable || attempt >= attempts || stop.aborted) {
          this.deps.metrics.webhooks.inc({ result });
          log.warn(`${what}; giving up`, { ...fields, ...detail, attempts: attempt });
          return;
        }
        const wait = Math.max(backoffMs * 2 ** (attempt - 1), retryAfterMs ?? 0);
        log.debug(`${what}; retrying in ${wait} ms`, { ...fields, ...detail, attempt });
        await sleep(this.deps.clock, wait, stop);
      }
    };
    const p = send();
    this.pendingWebhooks.add(p);
    void p.finally(() => this.pendingWebhooks.delete(p));
  }
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`, at most 30 s. */
export function retryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(30_000, Math.max(0, ms)) : undefined;
}
