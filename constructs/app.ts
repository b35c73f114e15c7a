import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import * as gatewayapi from '../imports/gateway.networking.k8s.io.js';
import * as networking from '../imports/networking.istio.io.js';
import { gatewayApiRefusals, renderGatewayApiRule, versionServiceName } from './gateway-api-routes.js';
import { recordCall, type CallOptions } from './calls.js';
import type { AppProtocol, ICallee, IMeshPeer, IReleasable, IWorkload, WorkloadPort } from './peer.js';
import { renderHttpRoute, httpRouteSchema, type HttpRouteOptions } from './routing.js';
import { renderTrafficPolicy, trafficPolicySchema, type TrafficPolicy } from './traffic-policy.js';
import { CanaryRelease, type CanaryReleaseProps } from './canary-release.js';
import {
  checkProps,
  childPath,
  dnsLabel,
  duration,
  MeshPropsError,
  portNumber,
  type PropIssue,
} from './validation.js';
import {
  checkWorkloadPod,
  MeshWorkload,
  workloadIdentityFields,
  renderDeployment,
  workloadPodFields,
  type Probe,
  type WorkloadPodProps,
} from './workload.js';

/** One version of an App: a Deployment labelled `version: <name>` and a DestinationRule subset. */
export interface AppVersion {
  /** The version, e.g. `v2`: the `version` label and the subset name. */
  readonly name: string;
  /** Container image. @default - the App's `image` with `{version}` replaced by the version name */
  readonly image?: string;
  /** Replicas. @default - the App's `replicas` */
  readonly replicas?: number;
  /** Deploy it. `false` declares only the subset (its pods come from elsewhere). @default true */
  readonly deploy?: boolean;
  /** Traffic policy of this subset. @default - the App's */
  readonly trafficPolicy?: TrafficPolicy;
}

/** Envoy's local rate limit on the App's inbound traffic (a token bucket per pod). */
export interface LocalRateLimit {
  /** Bucket size. */
  readonly maxTokens: number;
  /** Tokens added per fill. @default - maxTokens */
  readonly tokensPerFill?: number;
  /** Fill interval. */
  readonly fillInterval: Duration;
}

/** One port of an App's Service, when it has several (the `ports` prop). */
export interface AppPort {
  /** The Service port. */
  readonly port: number;
  /** The container port. @default - the Service port */
  readonly targetPort?: number;
  /** Its protocol. @default 'http' */
  readonly protocol?: AppProtocol;
  /**
   * The port's name: Istio reads the protocol from it, so it is `<protocol>` or `<protocol>-<suffix>`.
   * @default - the protocol, or `<protocol>-<port>` when several ports share a protocol
   */
  readonly name?: string;
}

export interface AppProps extends WorkloadPodProps {
  /** Service name (and `app` label). @default - the construct id */
  readonly name?: string;
  /** Versions. @default ['v1'] */
  readonly versions?: readonly (string | AppVersion)[];
  /** Service port (for one port; `ports` for several). @default 80 */
  readonly port?: number;
  /** Container port. @default - the Service port */
  readonly targetPort?: number;
  /** Protocol of the port; the port is named after it as Istio requires. @default 'http' */
  readonly protocol?: AppProtocol;
  /** Several named ports, each with its protocol; the first is the App's primary port. Excludes `port`, `targetPort` and `protocol`. @default - the one port of `port` */
  readonly ports?: readonly AppPort[];
  /** Namespace. @default - the mesh's */
  readonly namespace?: string;
  /** Traffic policy for every subset (DestinationRule `trafficPolicy`). @default - Istio's defaults */
  readonly trafficPolicy?: TrafficPolicy;
  /** Local rate limit on inbound requests (an EnvoyFilter scoped to the App's pods). @default - none */
  readonly rateLimit?: LocalRateLimit;
  /**
   * The version serving traffic now: the one {@link App.release} releases from. After a release
   * is promoted, make the released version the stable one here (or as the first of `versions`).
   * @default - the first of `versions`
   */
  readonly stable?: string;
}

/**
 * Options of {@link App.release}: the new version's Deployment, and the plan and analysis of its
 * CanaryRelease (the resource's own fields, e.g. `steps`, `analysis`, `scaleDown`).
 */
export interface ReleaseOptions extends Omit<CanaryReleaseProps, 'app' | 'stable' | 'canary'> {
  /** Container image of the new version. @default - the App's `image` with `{version}` replaced by the version */
  readonly image?: string;
  /** Replicas of the new version. @default - the App's `replicas` */
  readonly replicas?: number;
  /** The version released from. @default - the App's `stable` version */
  readonly from?: string;
}

const versionSchema = z.union([
  dnsLabel,
  z.strictObject({
    name: dnsLabel,
    image: z.string().min(1).optional(),
    replicas: z.number().int().min(0).optional(),
    deploy: z.boolean().optional(),
    trafficPolicy: trafficPolicySchema.optional(),
  }),
]);

const releaseSchema = z.object({
  version: dnsLabel,
  image: z.string().min(1).optional(),
  replicas: z.number().int().min(0).optional(),
  from: dnsLabel.optional(),
});

const rateLimitSchema = z.strictObject({
  maxTokens: z.number().int().min(1),
  tokensPerFill: z.number().int().min(1).optional(),
  fillInterval: duration,
});

const protocolSchema = z.enum(['http', 'http2', 'grpc', 'https', 'tcp', 'tls']);
const portSchema = z.strictObject({
  port: portNumber,
  targetPort: portNumber.optional(),
  protocol: protocolSchema.default('http'),
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label')
    .max(63)
    .optional(),
});

const appSchema = z
  .strictObject({
    ...workloadPodFields,
    versions: z.array(versionSchema).min(1, 'an App needs at least one version').default(['v1']),
    port: portNumber.optional(),
    targetPort: portNumber.optional(),
    protocol: protocolSchema.optional(),
    ports: z.array(portSchema).min(1, 'an App has at least one port').optional(),
    ...workloadIdentityFields,
    trafficPolicy: trafficPolicySchema.optional(),
    rateLimit: rateLimitSchema.optional(),
    stable: dnsLabel.optional(),
  })
  .superRefine((p, ctx) => {
    const add = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const names = p.versions.map((v) => (typeof v === 'string' ? v : v.name));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) add(['versions', i], `version '${n}' is declared twice`);
    });
    p.versions.forEach((v, i) => {
      const deployed = typeof v === 'string' || v.deploy !== false;
      const image = typeof v === 'string' ? undefined : v.image;
      if (deployed && !image && !p.image) {
        add(
          ['image'],
          `version '${typeof v === 'string' ? v : v.name}' (versions[${i}]) has no image: set the App's image (with {version}) or the version's`,
        );
      }
    });
    if (p.ports) {
      for (const k of ['port', 'targetPort', 'protocol'] as const)
        if (p[k] !== undefined) add([k], `give either ports or ${k}, not both: put it in ports[0]`);
      const seen = new Map<string, number>();
      p.ports.forEach((port, i) => {
        if (
          port.name !== undefined &&
          port.name !== port.protocol &&
          !port.name.startsWith(`${port.protocol}-`)
        )
          add(
            ['ports', i, 'name'],
            `Istio reads the protocol from the port name: name a ${port.protocol} port '${port.protocol}' or '${port.protocol}-<suffix>'`,
          );
        const key = String(port.port);
        if (seen.has(key))
          add(['ports', i, 'port'], `Service port ${port.port} is also ports[${seen.get(key)}]`);
        seen.set(key, i);
      });
    }
    checkWorkloadPod(p, add);
  });

/** The Service ports of the parsed props, named as Istio requires. */
function servicePorts(p: z.output<typeof appSchema>): WorkloadPort[] {
  const list = p.ports ?? [{ port: p.port ?? 80, targetPort: p.targetPort, protocol: p.protocol ?? 'http' }];
  return list.map((q) => {
    const shared = list.filter((o) => o.protocol === q.protocol).length > 1;
    const name = ('name' in q && q.name) || (shared ? `${q.protocol}-${q.port}` : q.protocol);
    return { name, port: q.port, targetPort: q.targetPort ?? q.port, protocol: q.protocol };
  });
}

/** The readiness probe an App gets by default: gRPC's health check on a gRPC port, a TCP connect otherwise. */
function defaultReadiness(port: WorkloadPort): Probe {
  return port.protocol === 'grpc' ? { grpc: {} } : { tcp: {} };
}

/** A route added to an App. */
export interface HttpRoute {
  /** Position in the App's VirtualService `http` list. */
  readonly index: number;
  readonly options: HttpRouteOptions;
}

/**
 * One service of the mesh with one or more versions. Produces a Service (port named per Istio's
 * convention), a ServiceAccount (its identity), a Deployment per version (through cdk8s-plus,
 * Pod Security `restricted`), a DestinationRule with a subset per version, and, once routes are
 * added, a VirtualService. With the mesh's `trafficApi: 'gateway-api'`, routes make an HTTPRoute
 * (GRPCRoute for gRPC) whose parent is the Service and whose backends are one Service per version
 * (`<name>-<version>`), and DestinationRules carry only traffic policies, per version Service.
 */
export class App extends MeshWorkload implements ICallee, IReleasable {
  /** The primary (first) Service port. */
  readonly port: number;
  /** The protocol of the primary port. */
  readonly protocol: AppProtocol;
  /** Every Service port, the primary first. */
  readonly ports: readonly WorkloadPort[];
  /** Version (subset) names, in declaration order (a version {@link App.release} adds comes last). */
  get versions(): readonly string[] {
    return this._versions;
  }
  /** Short host name of the Service (`reviews`); use {@link App.fqdn} across namespaces. */
  readonly host: string;
  readonly fqdn: string;
  readonly service: kplus.Service;
  /** Deployments by version name (deployed versions only). */
  get deployments(): Readonly<Record<string, kplus.Deployment>> {
    return this._deployments;
  }
  /**
   * The DestinationRule of the App's host: subsets per version with the Istio API; with the
   * Gateway API only when the App sets a traffic policy (versions' policies go on their Services').
   */
  readonly destinationRule: networking.DestinationRule | undefined;
  /** The version the App's releases start from: `stable`, or the first declared version. */
  readonly stable: string;

  /** The versions it runs pods for (those not declared with `deploy: false`). */
  get deployedVersions(): readonly string[] {
    return Object.keys(this._deployments);
  }

  private readonly _versions: string[];
  private readonly _deployments: Record<string, kplus.Deployment> = {};
  /** The DestinationRule's subsets, one per version (a released version is appended); none with the Gateway API. */
  private readonly subsets: Record<string, unknown>[] | undefined;
  /** Adds the Deployment of one version. */
  private readonly deploy: (v: AppVersion) => kplus.Deployment;
  private readonly subsetOf: (v: AppVersion) => Record<string, unknown>;
  /** The App's image template and replicas, for a version {@link App.release} adds. */
  private readonly defaults: { readonly image?: string; readonly replicas: number };

  private readonly httpRoutes: networking.VirtualServiceSpecHttp[] = [];
  private readonly routeOptions: HttpRouteOptions[] = [];
  private _virtualService: networking.VirtualService | undefined;
  private readonly gatewayApiRules: unknown[] = [];
  private _gatewayApiRoute: gatewayapi.HttpRoute | gatewayapi.GrpcRoute | undefined;
  private readonly versionServices: Record<string, kplus.Service> = {};

  constructor(scope: Construct, id: string, props: AppProps = {}) {
    const p = checkProps(childPath(scope, id), appSchema, { ...props, name: props.name ?? id });
    super(scope, id, p);
    this.ports = servicePorts(p);
    this.port = this.ports[0]!.port;
    this.protocol = this.ports[0]!.protocol;
    this.host = this.name;
    this.fqdn = `${this.name}.${this.namespace}.svc.cluster.local`;
    const versions = p.versions.map((v) => (typeof v === 'string' ? { name: v } : v));
    this._versions = versions.map((v) => v.name);
    this.defaults = { ...(p.image ? { image: p.image } : {}), replicas: p.replicas };
    if (p.stable !== undefined && !this._versions.includes(p.stable)) {
      throw new MeshPropsError(this.node.path, [
        {
          field: 'stable',
          message: `'${p.stable}' is not a version of ${this.name}; name one of its versions (${this._versions.join(', ')})`,
          received: JSON.stringify(p.stable),
        },
      ]);
    }
    this.stable = p.stable ?? this._versions[0]!;
    const metadata = (name: string, labels: Record<string, string> = {}) => ({
      name,
      namespace: this.namespace,
      labels: { app: this.name, ...labels },
    });

    // Ambient without a managed namespace: the Service names its waypoint itself.
    const waypoint = this.mesh.waypointName;
    const useWaypoint: Record<string, string> =
      waypoint && !this.mesh.node.tryFindChild('Namespace') ? { 'istio.io/use-waypoint': waypoint } : {};
    this.service = new kplus.Service(this, 'Resource', {
      metadata: metadata(this.name, { service: this.name, ...useWaypoint }),
      ports: this.servicePortsSpec(),
    });
    this.service.selectLabel('app', this.name);

    const containerPorts = [...new Set(this.ports.map((q) => q.targetPort))].map((number) => ({ number }));
    this.deploy = (v: AppVersion) => {
      const { deployment } = renderDeployment(this, `Deployment-${v.name}`, p, {
        name: `${this.name}-${v.name}`,
        namespace: this.namespace,
        labels: { app: this.name, version: v.name },
        image: v.image ?? p.image!.replaceAll('{version}', v.name),
        replicas: v.replicas ?? p.replicas,
        containerName: p.containerName ?? this.name,
        serviceAccount: this.serviceAccount,
        ports: containerPorts,
        defaultReadiness: defaultReadiness(this.ports[0]!),
        dataPlane: this.mesh.dataPlane,
      });
      this._deployments[v.name] = deployment;
      return deployment;
    };
    for (const v of versions) if (v.deploy !== false) this.deploy(v);

    // The generated type spells Istio's consecutive5xxErrors `consecutive5XxErrors`; its toJson
    // maps that back and drops any other spelling, so the rendered (Istio JSON) key is renamed.
    const policy = (t: TrafficPolicy | undefined) => {
      const rendered = renderTrafficPolicy(t);
      if (!rendered) return {};
      if (!rendered.outlierDetection) return { trafficPolicy: rendered };
      const { consecutive5xxErrors, ...outlier } = rendered.outlierDetection as Record<string, unknown>;
      return {
        trafficPolicy: {
          ...rendered,
          outlierDetection: { ...outlier, consecutive5XxErrors: consecutive5xxErrors },
        },
      };
    };
    this.subsetOf = (v: AppVersion) => ({
      name: v.name,
      labels: { version: v.name },
      ...policy(v.trafficPolicy),
    });
    if (this.mesh.trafficApi === 'gateway-api') {
      // No subsets: a route cannot address them. Versions' policies go on their own Services.
      this.destinationRule = p.trafficPolicy
        ? new networking.DestinationRule(this, 'DestinationRule', {
            metadata: metadata(this.name),
            spec: { host: this.name, ...policy(p.trafficPolicy) } as networking.DestinationRuleSpec,
          })
        : undefined;
      for (const v of versions) {
        const merged =
          p.trafficPolicy || v.trafficPolicy ? { ...p.trafficPolicy, ...v.trafficPolicy } : undefined;
        if (!merged) continue;
        const host = this.versionService(v.name).name;
        new networking.DestinationRule(this, `DestinationRule-${v.name}`, {
          metadata: metadata(host, { version: v.name }),
          spec: { host, ...policy(merged) } as networking.DestinationRuleSpec,
        });
      }
    } else {
      this.subsets = versions.map((v) => this.subsetOf(v));
      const drSpec = { host: this.name, ...policy(p.trafficPolicy), subsets: this.subsets };
      this.destinationRule = new networking.DestinationRule(this, 'DestinationRule', {
        metadata: metadata(this.name),
        spec: drSpec as unknown as networking.DestinationRuleSpec,
      });
    }

    if (p.rateLimit) this.addLocalRateLimit(p.rateLimit);
  }

  /** The Service's ports as cdk8s-plus takes them. */
  private servicePortsSpec(): kplus.ServicePort[] {
    return this.ports.map((q) => ({ name: q.name, port: q.port, targetPort: q.targetPort }));
  }

  /** The App's VirtualService, created by the first {@link App.addRoute}. */
  get virtualService(): networking.VirtualService | undefined {
    return this._virtualService;
  }

  /** The App's HTTPRoute (GRPCRoute for gRPC), created by the first {@link App.addRoute} with the Gateway API. */
  get gatewayApiRoute(): gatewayapi.HttpRoute | gatewayapi.GrpcRoute | undefined {
    return this._gatewayApiRoute;
  }

  /**
   * The Service of one version (`<name>-<version>`, selecting `version: <version>`): a weighted
   * backend of the App's Gateway API routes. Created on first use.
   */
  versionService(version: string): kplus.Service {
    const existing = this.versionServices[version];
    if (existing) return existing;
    const name = versionServiceName(this.name, version);
    const svc = new kplus.Service(this, `Service-${version}`, {
      metadata: { name, namespace: this.namespace, labels: { app: this.name, service: name, version } },
      ports: this.servicePortsSpec(),
    });
    svc.selectLabel('app', this.name);
    svc.selectLabel('version', version);
    this.versionServices[version] = svc;
    return svc;
  }

  /** The routes added so far, in order. */
  get routes(): readonly HttpRouteOptions[] {
    return this.routeOptions;
  }

  /**
   * Appends an HTTP route to the App's VirtualService (created on first use). Routes are matched
   * in the order added; put specific matches first and a catch-all last.
   * Throws, naming the route and field, if a subset is not a version of this App or weights do
   * not sum to 100.
   */
  addRoute(options: HttpRouteOptions): HttpRoute {
    const index = this.routeOptions.length;
    const r = checkProps(this, httpRouteSchema, options, `routes[${index}]`);
    const unknown = [...r.to.map((d) => d.subset), r.mirror?.subset].filter(
      (s): s is string => s !== undefined && !this.versions.includes(s),
    );
    if (unknown.length) {
      throw new MeshPropsError(this.node.path, [
        {
          field: `routes[${index}]`,
          message: `subset ${unknown.map((s) => `'${s}'`).join(', ')} is not a version of ${this.name}; declare it in versions (${this.versions.join(', ')})`,
          received: JSON.stringify(unknown),
        },
      ]);
    }
    const refusals = [
      ...(this.mesh.dataPlane === 'ambient' && !this.mesh.waypointName
        ? [
            {
              field: '',
              message:
                'in ambient mode routes are applied by a waypoint, and this mesh has none: drop waypoint: false from the Mesh',
            },
          ]
        : []),
      ...(this.mesh.trafficApi === 'gateway-api'
        ? gatewayApiRefusals(options, this.protocol === 'grpc')
        : []),
    ];
    if (refusals.length) {
      throw new MeshPropsError(
        this.node.path,
        refusals.map((i) => ({ ...i, field: `routes[${index}]${i.field ? `.${i.field}` : ''}` })),
      );
    }
    this.routeOptions.push(options);
    if (this.mesh.trafficApi === 'gateway-api') {
      this.addGatewayApiRule(options);
      return { index, options };
    }
    this.httpRoutes.push(renderHttpRoute(this.host, options));
    this._virtualService ??= new networking.VirtualService(this, 'VirtualService', {
      metadata: { name: this.name, namespace: this.namespace, labels: { app: this.name } },
      spec: { hosts: [this.host], http: this.httpRoutes },
    });
    return { index, options };
  }

  /** Appends a route as a rule of the App's HTTPRoute or GRPCRoute (created on first use). */
  private addGatewayApiRule(options: HttpRouteOptions): void {
    const grpc = this.protocol === 'grpc';
    for (const s of [...options.to.map((d) => d.subset), options.mirror?.subset]) {
      if (s !== undefined) this.versionService(s);
    }
    this.gatewayApiRules.push(renderGatewayApiRule({ name: this.name, port: this.port, grpc }, options));
    if (this._gatewayApiRoute) return;
    const metadata = { name: this.name, namespace: this.namespace, labels: { app: this.name } };
    const parentRefs = [{ group: '', kind: 'Service', name: this.name, port: this.port }];
    this._gatewayApiRoute = grpc
      ? new gatewayapi.GrpcRoute(this, 'GRPCRoute', {
          metadata,
          spec: { parentRefs, rules: this.gatewayApiRules as gatewayapi.GrpcRouteSpecRules[] },
        })
      : new gatewayapi.HttpRoute(this, 'HTTPRoute', {
          metadata,
          spec: { parentRefs, rules: this.gatewayApiRules as gatewayapi.HttpRouteSpecRules[] },
        });
  }

  /**
   * Releases a new version in one line: adds the version (its Deployment, with `image` and
   * `replicas`, and its DestinationRule subset) unless it is declared already, the route
   * `primary` from the stable version (100) to it (0) if the App has no routes yet, and a
   * {@link CanaryRelease} (`stable` → `version`) that the operator runs. Its revision is the new
   * version's image, so a new image under the same version starts a new release.
   *
   * After the operator has promoted it, make `version` the App's stable one (`stable`, or the
   * first of `versions`) and point this line at the next version; the old stable then leaves the
   * synthesized manifests (see docs/releases.md).
   *
   * Throws, naming the field, if `version` is the stable one, the App has a release already, or
   * the new version has no image.
   */
  release(version: string, options: ReleaseOptions = {}): CanaryRelease {
    const { image, replicas, from, ...plan } = options;
    const r = checkProps(this, releaseSchema, { version, image, replicas, from }, 'release');
    const stable = r.from ?? this.stable;
    const problems: PropIssue[] = [];
    if (this.node.tryFindChild('Release')) {
      problems.push({
        field: 'release',
        message: `${this.name} has a release already; an App releases one version at a time: point the existing release() at the new version`,
        received: JSON.stringify(version),
      });
    }
    if (r.version === stable) {
      problems.push({
        field: 'release.version',
        message: `'${r.version}' is the stable version of ${this.name}: release another version, or make the released one stable once it is promoted`,
        received: JSON.stringify(r.version),
      });
    }
    const declared = this._versions.includes(r.version);
    const newImage = r.image ?? this.defaults.image?.replaceAll('{version}', r.version);
    if (!declared && !newImage) {
      problems.push({
        field: 'release.image',
        message: `version '${r.version}' has no image: set the release's image, or the App's image with {version}`,
      });
    }
    if (declared && r.image !== undefined) {
      problems.push({
        field: 'release.image',
        message: `version '${r.version}' is declared in versions already, with its image: set the image there, or release a version not yet declared`,
        received: JSON.stringify(r.image),
      });
    }
    if (problems.length) throw new MeshPropsError(this.node.path, problems);
    if (!declared) {
      const v: AppVersion = {
        name: r.version,
        image: newImage,
        replicas: r.replicas ?? this.defaults.replicas,
      };
      this._versions.push(r.version);
      this.subsets?.push(this.subsetOf(v));
      this.deploy(v);
    }
    const deployedImage = this._deployments[r.version]?.containers[0]?.image;
    const revision =
      plan.revision ?? (deployedImage && deployedImage.length <= 128 ? deployedImage : undefined);
    return new CanaryRelease(this, 'Release', {
      ...plan,
      app: this,
      stable,
      canary: r.version,
      ...(revision ? { revision } : {}),
    });
  }

  /**
   * Declares that this App calls `other`: the edge of the mesh's call graph from which
   * {@link ZeroTrustPolicy} derives the ALLOW rule for this App's principal on `other`, in the
   * callee's namespace and Mesh. The options are checked against the callee's protocol: HTTP
   * `methods`/`paths`, gRPC `grpcServices`/`grpcMethods`, and `ports` (all a TCP callee takes).
   * Throws if this App runs without the sidecar: it has no principal a rule could name.
   */
  calls(other: IMeshPeer & IWorkload, options: CallOptions = {}): void {
    recordCall(this, other, options);
  }

  /**
   * Adds Envoy's local rate limit to the App's inbound traffic: an EnvoyFilter scoped to the App's
   * pods. Requests over the limit get 429.
   */
  addLocalRateLimit(limit: LocalRateLimit): networking.EnvoyFilter {
    checkProps(this, rateLimitSchema, limit, 'rateLimit');
    if (this.mesh.dataPlane === 'ambient') {
      throw new MeshPropsError(this.node.path, [
        {
          field: 'rateLimit',
          message:
            "the local rate limit patches the sidecar's inbound listener (an EnvoyFilter), and ambient pods have no sidecar; use dataPlane: 'sidecar' for it",
        },
      ]);
    }
    if (this.node.tryFindChild('RateLimit')) {
      throw new Error(
        `${this.node.path}: ${this.name} already has a local rate limit; set it once (rateLimit prop or addLocalRateLimit)`,
      );
    }
    return new networking.EnvoyFilter(this, 'RateLimit', {
      metadata: {
        name: `${this.name}-local-ratelimit`,
        namespace: this.namespace,
        labels: { app: this.name },
      },
      spec: {
        workloadSelector: { labels: { ...this.selector } },
        // An explicit priority orders the relative INSERT_BEFORE patch (istioctl's IST0151).
        priority: 10,
        configPatches: [
          {
            applyTo: networking.EnvoyFilterSpecConfigPatchesApplyTo.HTTP_UNDERSCORE_FILTER,
            match: {
              context: networking.EnvoyFilterSpecConfigPatchesMatchContext.SIDECAR_UNDERSCORE_INBOUND,
              listener: {
                filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } },
              },
            },
            patch: {
              operation: networking.EnvoyFilterSpecConfigPatchesPatchOperation.INSERT_UNDERSCORE_BEFORE,
              value: {
                name: 'envoy.filters.http.local_ratelimit',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
                  stat_prefix: 'http_local_rate_limiter',
                  token_bucket: {
                    max_tokens: limit.maxTokens,
                    tokens_per_fill: limit.tokensPerFill ?? limit.maxTokens,
                    // Protobuf JSON: decimal seconds (`0.5s`); toSeconds() throws on 500 ms.
                    fill_interval: `${limit.fillInterval.toMilliseconds() / 1000}s`,
                  },
                  filter_enabled: {
                    runtime_key: 'local_rate_limit_enabled',
                    default_value: { numerator: 100, denominator: 'HUNDRED' },
                  },
                  filter_enforced: {
                    runtime_key: 'local_rate_limit_enforced',
                    default_value: { numerator: 100, denominator: 'HUNDRED' },
                  },
                  response_headers_to_add: [
                    {
                      append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
                      header: { key: 'x-local-rate-limit', value: 'true' },
                    },
                  ],
                },
              },
            },
          },
        ],
      },
    });
  }
}
