/**
 * What `decide` reads (observations) and returns (a decision with actions). The adapters turn
 * the cluster and Prometheus into {@link Observations} and carry out {@link Action}s.
 */
import type {
  CanaryReleaseStatus,
  Commands,
  StringMatch,
  WebhookEvent,
} from '../../api/v1alpha1/canary-release.js';
import type { Reason } from '../../api/v1alpha1/constants.js';

/** The result of one Prometheus query. */
export type MetricValue =
  /** The query returned a number (a non-finite one is treated as no data). */
  | { readonly kind: 'Value'; readonly value: number }
  /** The query ran and returned no series (e.g. no traffic yet). */
  | { readonly kind: 'NoData' }
  /** The query could not run (Prometheus down, bad PromQL); `error` says why. */
  | { readonly kind: 'QueryFailed'; readonly error: string };

/** One check's results: the canary's, and stable's when the analysis compares the two. */
export interface MetricObservation {
  /** The canary's value. */
  readonly canary: MetricValue;
  /** Stable's value (only needed by `compareToStable`). */
  readonly stable?: MetricValue;
}

/** The driven route as read from the VirtualService, HTTPRoute or GRPCRoute. */
export type RouteObservation =
  | {
      readonly found: true;
      /** Weight of the stable destination as read (0 when absent). */
      readonly stableWeight: number;
      /** Weight of the canary destination as read (0 when absent). */
      readonly canaryWeight: number;
      /** Names (as in the spec) of the header routes of this release present in the VirtualService. */
      readonly headerRoutes: readonly string[];
      /** Mirror percentage of the route to the canary as read (0: no mirror). */
      readonly mirrorPercentage: number;
      /** Whether the fault of this release is present. */
      readonly fault: boolean;
      /**
       * The other HTTP routes of the VirtualService (neither the driven route nor this release's
       * header routes) that send or mirror to the stable or canary subset, by subset.
       */
      readonly otherRoutes?: Readonly<Record<string, readonly string[]>>;
    }
  | {
      readonly found: false;
      /** Why: the VirtualService does not exist, or has no HTTP route of that name. */
      readonly reason:
        | typeof Reason.VirtualServiceNotFound
        | typeof Reason.HTTPRouteNotFound
        | typeof Reason.GRPCRouteNotFound
        | typeof Reason.RouteNotFound;
      /** Names of the HTTP routes the VirtualService has, to suggest the fix. */
      readonly available?: readonly string[];
    };

/** Readiness of a Deployment. */
export interface Readiness {
  /** All desired replicas are available. */
  readonly ready: boolean;
  /** Details for the status message, e.g. `1/3 available`. */
  readonly message?: string;
  /** Desired replicas (`spec.replicas`) as read; omitted when the Deployment does not exist. */
  readonly replicas?: number;
}

/** Everything `decide` knows about the world, read just before it is called. */
export interface Observations {
  /** `metadata.generation` of the CanaryRelease. */
  readonly generation: number;
  /** Commands from the control annotations (`readCommands(metadata.annotations)`). */
  readonly commands?: Commands;
  /** The driven route. */
  readonly route: RouteObservation;
  /** Readiness of the canary Deployment; omitted when the spec names none. */
  readonly canary?: Readiness;
  /** The stable Deployment as read (its replicas); omitted when the spec names none. */
  readonly stable?: Readiness;
  /** Metric results by check name (`SUCCESS_RATE`, `LATENCY_P99` of api/, custom names). A missing entry is no data. */
  readonly metrics: Readonly<Record<string, MetricObservation>>;
}

/** Fault injected into the canary's traffic (Istio HTTPFaultInjection). */
export interface Fault {
  readonly delay?: { readonly fixedDelay: string; readonly percentage: number };
  readonly abort?: { readonly httpStatus: number; readonly percentage: number };
}

/** What the operator must do; a union keyed on `type`, carried out in list order. */
export type Action =
  /** Set the weights of the stable and canary destinations of the driven route (integers summing to 100). */
  | { readonly type: 'SetRoutes'; readonly stableWeight: number; readonly canaryWeight: number }
  /** Add a route before the driven one that sends requests matching all `headers` to the canary. */
  | {
      readonly type: 'AddHeaderRoute';
      readonly name: string;
      readonly headers: Readonly<Record<string, StringMatch>>;
    }
  /** Remove the header route `name`. */
  | { readonly type: 'RemoveHeaderRoute'; readonly name: string }
  /** Mirror `percentage` of the route's traffic to the canary; 0 removes the mirror. */
  | { readonly type: 'SetMirror'; readonly percentage: number }
  /** Inject `fault` into the canary's share of the route. */
  | { readonly type: 'SetFault'; readonly fault: Fault }
  /** Remove the injected fault. */
  | { readonly type: 'RemoveFault' }
  /** The canary passed: it now takes all of the route's traffic. */
  | {
      readonly type: 'Promote';
      readonly stableSubset: string;
      readonly canarySubset: string;
      readonly revision?: string;
    }
  /** The release failed or was aborted: stable takes all of the route's traffic. */
  | { readonly type: 'RollBack'; readonly reason: string; readonly message: string }
  /**
   * Set the replicas of a Deployment of the release (its scale subresource): 0 for the version
   * that lost, or the replicas it had when a later release needs it again.
   */
  | { readonly type: 'ScaleDeployment'; readonly deployment: string; readonly replicas: number }
  /** Record a Kubernetes Event on the CanaryRelease. */
  | {
      readonly type: 'EmitEvent';
      readonly eventType: 'Normal' | 'Warning';
      readonly reason: string;
      readonly message: string;
    }
  /** POST a JSON notification to a webhook. */
  | {
      readonly type: 'Notify';
      readonly webhook: string;
      readonly url: string;
      readonly event: WebhookEvent;
      readonly message: string;
      readonly step: number;
      readonly canaryWeight: number;
    };

/** The `type` of an {@link Action}. */
export type ActionType = Action['type'];

/** The output of `decide`. */
export interface Decision {
  /** The whole next status, to be written in one patch (skip the write when it equals the old one). */
  readonly status: CanaryReleaseStatus;
  /** What to do, in order. Route actions come first, then promotion/rollback, events, notifications. */
  readonly actions: readonly Action[];
  /** Milliseconds until `decide` should run again; `null` when only a change to the resource can change anything. */
  readonly requeueAfter: number | null;
}
