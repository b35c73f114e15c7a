import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { API_VERSION, KIND, parseSpec } from '../api/v1alpha1/index.js';
// The zod-free form of the resource's types: this construct's declarations must not load zod's.
import type { CanaryReleaseSpec, CanaryReleaseSpecInput } from '../api/v1alpha1/types.js';
import type { IReleasable } from './peer.js';
import { MeshPropsError, type PropIssue } from './validation.js';

/**
 * Props of a {@link CanaryRelease}. The plan and the analysis are the resource's own spec fields
 * (`api/v1alpha1`, one zod schema for both), so the construct and the custom resource cannot
 * disagree; durations there are the resource's strings (`'30s'`, `'5m'`).
 */
export interface CanaryReleaseProps extends Omit<
  CanaryReleaseSpecInput,
  'service' | 'stable' | 'canary' | 'virtualService'
> {
  /** The App being released. */
  readonly app: IReleasable;
  /** The version serving traffic now (a version of the App). */
  readonly stable: string;
  /** The version being released (a version of the App). */
  readonly canary: string;
  /** Build identifier of the canary (an image tag); changing it later starts a new release. @default - none */
  readonly revision?: string;
  /**
   * Name of the App's HTTP route the release drives. If the App has no routes yet, one is added
   * with this name (stable 100, canary 0); otherwise a route of this name must exist and send to
   * both subsets.
   * @default 'primary'
   */
  readonly routeName?: string;
  /** Gate progress on the Deployments' readiness. @default true */
  readonly checkReadiness?: boolean;
  /**
   * The operator owns the App's route object: its VirtualService, or on a Mesh with
   * `trafficApi: 'gateway-api'` its HTTPRoute (GRPCRoute for a gRPC App). The object is
   * synthesized into the CanaryRelease (`virtualService.template`, `httpRoute.template`,
   * `grpcRoute.template`) instead of as an object of its own, and the operator writes it,
   * keeping the weights, mirror and header routes it set when a changed template arrives. A
   * GitOps tool re-applying the manifests then never resets the weights (see docs/releases.md,
   * GitOps). With `false`, the route object is synthesized as it is and the operator patches its
   * driven route in place.
   * @default true
   */
  readonly ownRoute?: boolean;
  /**
   * The former name of {@link ownRoute}, which now covers HTTPRoutes and GRPCRoutes too.
   * @deprecated use `ownRoute`
   * @default true
   */
  readonly ownVirtualService?: boolean;
  /** Name of the resource. @default - the App's name */
  readonly name?: string;
}

/**
 * A progressive delivery of one App version: the `CanaryRelease` custom resource
 * (`delivery.cdk8s-mesh.io/v1alpha1`) the operator acts on, and the App route it drives, so a
 * mesh and its releases are one program.
 */
export class CanaryRelease extends Construct {
  /** The spec as validated (defaults applied). */
  readonly spec: CanaryReleaseSpec;
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: CanaryReleaseProps) {
    super(scope, id);
    const {
      app,
      stable,
      canary,
      revision,
      routeName = 'primary',
      checkReadiness = true,
      ownVirtualService,
      ownRoute = ownVirtualService ?? true,
      name = app.name,
      ...plan
    } = props;
    const problems: PropIssue[] = [];
    // On the Gateway API the release drives a rule of the App's HTTPRoute (GRPCRoute for gRPC),
    // whose versions are the App's per-version Services; a gRPC App's success rate counts
    // grpc_response_status (the default with a grpcRoute).
    const gatewayApi = app.mesh.trafficApi === 'gateway-api';
    const grpc = app.protocol === 'grpc';
    const routeField = gatewayApi ? (grpc ? 'grpcRoute' : 'httpRoute') : 'virtualService';
    const routeRef = gatewayApi ? { name: app.name, rule: routeName } : { name: app.name, route: routeName };
    const route = { [routeField]: routeRef };
    for (const [field, subset] of [
      ['stable', stable],
      ['canary', canary],
    ] as const) {
      if (!app.versions.includes(subset)) {
        problems.push({
          field,
          message: `'${subset}' is not a version of ${app.name}; declare it in the App's versions (${app.versions.join(', ')})`,
          received: JSON.stringify(subset),
        });
      }
    }
    const deployment = (subset: string) =>
      checkReadiness && app.deployments[subset] ? { deployment: app.deployments[subset].name } : {};
    const input = {
      ...plan,
      service: app.host,
      stable: { subset: stable, ...deployment(stable) },
      canary: { subset: canary, ...deployment(canary), ...(revision ? { revision } : {}) },
      ...(grpc && !gatewayApi ? { protocol: 'grpc' as const } : {}),
      ...route,
    };
    const parsed = parseSpec(input);
    if (!parsed.ok) {
      for (const p of parsed.problems)
        problems.push({ field: p.field.replace(/^\.spec\.?/, ''), message: p.message });
    }
    problems.push(...this.checkRoute(app, routeName, stable, canary));
    if (problems.length || !parsed.ok) {
      throw new MeshPropsError(this.node.path, problems);
    }
    this.spec = parsed.spec;
    if (app.routes.length === 0) {
      app.addRoute({
        name: routeName,
        to: [
          { subset: stable, weight: 100 },
          { subset: canary, weight: 0 },
        ],
      });
    }
    const owned = ownRoute ? (gatewayApi ? app.gatewayApiRoute : app.virtualService) : undefined;
    // The App's route object leaves the synthesized objects and travels in the release instead;
    // rendered at synth time, so routes the App adds later are in it.
    if (owned) owned.node.scope?.node.tryRemoveChild(owned.node.id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace: app.namespace, labels: { app: app.name } },
      // The input as written: the apiserver applies the same defaults as the schema.
      spec: owned
        ? {
            ...input,
            [routeField]: {
              ...routeRef,
              template: Lazy.any({ produce: () => routeTemplate(owned) }),
            },
          }
        : input,
    });
  }

  private checkRoute(app: IReleasable, routeName: string, stable: string, canary: string) {
    if (app.routes.length === 0) return [];
    const route = app.routes.find((r) => r.name === routeName);
    if (!route) {
      return [
        {
          field: 'routeName',
          message: `${app.name} has no route named '${routeName}' (routes: ${app.routes.map((r) => r.name ?? '(unnamed)').join(', ')}); name the route the release drives`,
          received: JSON.stringify(routeName),
        },
      ];
    }
    const subsets = route.to.map((d) => d.subset);
    const missing = [stable, canary].filter((s) => !subsets.includes(s));
    return missing.length
      ? [
          {
            field: 'routeName',
            message: `route '${routeName}' of ${app.name} must send to both ${stable} and ${canary} (weights 100 and 0 to start); it lacks ${missing.join(', ')}`,
            received: JSON.stringify(subsets),
          },
        ]
      : [];
  }
}

/** The `template` of a route object construct (a VirtualService, an HTTPRoute, a GRPCRoute): its labels, annotations and spec. */
function routeTemplate(vs: ApiObject): { metadata?: object; spec: unknown } {
  const o = vs.toJson() as { metadata?: { labels?: object; annotations?: object }; spec: unknown };
  const metadata = {
    ...(o.metadata?.labels ? { labels: o.metadata.labels } : {}),
    ...(o.metadata?.annotations ? { annotations: o.metadata.annotations } : {}),
  };
  return { ...(Object.keys(metadata).length ? { metadata } : {}), spec: o.spec };
}
