/**
 * What the reconciler needs from the world, as narrow interfaces: a traffic router, a metrics
 * provider, and the CanaryRelease's store (read it, write its status, record Events). Each lists
 * only the methods the reconciler calls. The adapters (`IstioRouter`, `PrometheusProvider`,
 * `KubernetesAdapter`) implement them against a real apiserver and Prometheus; a unit test
 * implements them with fakes.
 */
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import type { RouterError } from '../adapters/istio-router.js';
import type { TrafficSnapshot, TrafficTarget } from '../adapters/routers.js';
import type {
  CanaryReleaseObject,
  EventSubject,
  KubeError,
  ObjectRef,
  StatusWrite,
} from '../adapters/kubernetes.js';
import type { MetricsProvider } from '../adapters/prometheus.js';
import type { Result } from '../core/result.js';
import type { RouteAction } from '../core/routes.js';
import type { Readiness } from '../core/types.js';

/** How a read may be served. */
export interface ReadOptions {
  /** Ask the apiserver, not a cache (after a write was refused as a Conflict). @default false */
  readonly fresh?: boolean;
}

/**
 * Reads and writes the routes of a release (Flagger's router: `getRoutes`, and `apply` for
 * `setRoutes`): a VirtualService route (`IstioRouter`) or an HTTPRoute/GRPCRoute rule
 * (`GatewayApiRouter`), both behind `TrafficRouters`.
 */
export interface TrafficRouter {
  /** Reads the route; a missing route object or route is an observation, not an error. */
  getRoutes(t: TrafficTarget, opts?: ReadOptions): Promise<Result<TrafficSnapshot, KubeError>>;
  /** Carries out `actions` in one write against the route as it was in `snapshot`; `Conflict` if it changed since. */
  apply(
    t: TrafficTarget,
    snapshot: TrafficSnapshot,
    actions: readonly RouteAction[],
  ): Promise<Result<TrafficSnapshot, RouterError>>;
}

/** The metrics provider as the analysis uses it: custom queries and the built-in metrics. */
export type AnalysisMetrics = Pick<MetricsProvider, 'query' | 'builtin'>;

/** Reads a CanaryRelease and the readiness (and replicas) of its Deployments. */
export interface ReleaseReader {
  getRelease(ref: ObjectRef, opts?: ReadOptions): Promise<Result<CanaryReleaseObject, KubeError>>;
  readiness(ref: ObjectRef, opts?: ReadOptions): Promise<Result<Readiness, KubeError>>;
}

/** Sets the replicas of a Deployment of a release (scale-down of the losing version, and its undoing). */
export interface DeploymentScaler {
  scaleDeployment(ref: ObjectRef, replicas: number): Promise<Result<void, KubeError>>;
}

/** Writes the whole status of a CanaryRelease in one write, conditional on the resourceVersion read. */
export interface StatusWriter {
  writeStatus(
    ref: ObjectRef,
    resourceVersion: string,
    previous: unknown,
    next: CanaryReleaseStatus,
  ): Promise<Result<StatusWrite, KubeError>>;
}

/** Records Kubernetes Events about a release. */
export interface EventRecorder {
  emitEvent(
    subject: EventSubject,
    type: 'Normal' | 'Warning',
    reason: string,
    note: string,
    now?: Date,
  ): Promise<Result<void, KubeError>>;
}
