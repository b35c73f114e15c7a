import { Chart, JsonPatch, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct, IConstruct } from 'constructs';
import { z } from 'zod';
import * as networking from '../imports/networking.istio.io.js';
import * as telemetry from '../imports/telemetry.istio.io.js';
import { explain as explainRequest, type Explanation, type ExplainRequest } from '../mesh/explain/explain.js';
import { explainPath, type PathRequest, type RequestPath } from '../mesh/explain/path.js';
import type { ModelOptions } from '../mesh/model/load.js';
import type { DeclaredCall, KubeObject, MeshModel, UndeployedSubset } from '../mesh/model/types.js';
import { modelOfScope, validateSynthesized } from './mesh-model.js';
import {
  markMesh,
  meshOf,
  type CallListener,
  type DataPlane,
  type IMesh,
  type MeshCall,
  type MtlsMode,
  type TrafficApi,
} from './mesh-scope.js';
import type { IMeshPeer, IVersionedWorkload } from './peer.js';
import { checkProps, dnsLabel, MeshPropsError, percentage } from './validation.js';
import { Waypoint } from './waypoint.js';
import { ZeroTrustPolicy } from './zero-trust-policy.js';

/** Where the Istio ingress gateway runs, so routes and policies can name it. */
export interface IngressGatewayRef {
  /** Labels of the ingress gateway pods (a Gateway's `selector`). @default { istio: 'ingressgateway' } */
  readonly selector?: Readonly<Record<string, string>>;
  /** Namespace of the ingress gateway. @default 'istio-system' */
  readonly namespace?: string;
  /** ServiceAccount of the ingress gateway (its SPIFFE identity). @default 'istio-ingressgateway-service-account' */
  readonly serviceAccountName?: string;
}

export interface MeshProps {
  /** Namespace of the mesh's workloads and policies. @default 'default' */
  readonly namespace?: string;
  /**
   * The data plane. `sidecar`: an Envoy in every pod (the namespace's `istio-injection` label).
   * `ambient`: the namespace label `istio.io/dataplane-mode: ambient`; the node's ztunnel does
   * mTLS and L4 policy, the namespace's waypoint (see {@link MeshProps.waypoint}) does L7.
   * @default 'sidecar'
   * @see https://istio.io/latest/docs/ambient/overview/
   */
  readonly dataPlane?: DataPlane;
  /**
   * The traffic API routes are written in. `istio`: VirtualService, DestinationRule subsets and an
   * Istio Gateway. `gateway-api`: an HTTPRoute (GRPCRoute for gRPC Apps) with the App's Service
   * as parent and one Service per version as weighted backends, ingress as a Gateway of class
   * `istio`. A feature the chosen API cannot express is refused at synth with the reason.
   * @default 'istio'
   * @see https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/
   */
  readonly trafficApi?: TrafficApi;
  /**
   * Ambient only: a waypoint proxy for the namespace (a Gateway of class `istio-waypoint` named
   * `waypoint`, and `istio.io/use-waypoint: waypoint` on the namespace). Routes, fault injection
   * and L7 authorization (methods, paths) need one; without it only L4 policy applies.
   * @default true when `dataPlane` is 'ambient'
   * @see https://istio.io/latest/docs/ambient/usage/waypoint/
   */
  readonly waypoint?: boolean;
  /** Istio trust domain: the first part of every SPIFFE principal. @default 'cluster.local' */
  readonly trustDomain?: string;
  /**
   * Emit the Namespace with the data plane's labels (sidecar injection `istio-injection: enabled`,
   * or in ambient mode `istio.io/dataplane-mode: ambient` and the waypoint's), and the Pod
   * Security `enforce` label of {@link MeshProps.podSecurity}. Unmanaged, Apps label their
   * Services with the waypoint instead.
   * @default true
   */
  readonly manageNamespace?: boolean;
  /** Pod Security Standard enforced on the namespace (when managed). @default 'restricted' */
  readonly podSecurity?: 'privileged' | 'baseline' | 'restricted';
  /**
   * Mutual TLS for the namespace. Setting it (or `defaultDeny`) creates the mesh's
   * {@link ZeroTrustPolicy} with these values; create one yourself for more control.
   * @default - no PeerAuthentication (Istio's default: PERMISSIVE)
   */
  readonly mtls?: MtlsMode;
  /**
   * Deny every request no ALLOW policy permits (`allow-nothing`). Setting it creates the mesh's
   * ZeroTrustPolicy, whose mTLS is then STRICT unless `mtls` says otherwise: ALLOW rules by
   * principal need mTLS to know the caller.
   * @default false
   */
  readonly defaultDeny?: boolean;
  /**
   * Sidecar injection for the namespace: `istio-injection: enabled` (or `disabled`), or, with a
   * `revision`, `istio.io/rev: <revision>`.
   * @default true
   */
  readonly sidecarInjection?: boolean;
  /** Istio control-plane revision that injects this namespace (canary upgrades). @default - the default revision */
  readonly revision?: string;
  /** The ingress gateway that Gateways select. @default - Istio's default ingress gateway */
  readonly ingressGateway?: IngressGatewayRef;
  /**
   * Envoy access logging for the namespace through Istio's Telemetry API (the sidecar logs that
   * `kubectl logs -c istio-proxy` shows).
   * @default false
   * @see https://istio.io/latest/docs/reference/config/telemetry/
   */
  readonly accessLogging?: boolean;
  /** Trace sampling percentage through the Telemetry API. @default - the mesh config's (1%) */
  readonly traceSampling?: number;
  /**
   * What the namespace's sidecars do with a request to a host not in Istio's registry: pass it
   * through (`ALLOW_ANY`) or refuse it (`REGISTRY_ONLY`: a 502 from Envoy's `BlackHoleCluster`;
   * declare external hosts with {@link ExternalService}). Setting it emits the namespace's
   * Sidecar `default`.
   * @default - the mesh config's (Istio's default: ALLOW_ANY), and no Sidecar
   * @see https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy
   */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /**
   * The hosts the namespace's sidecars see (Sidecar `egress.hosts`, `<namespace>/<host>`). Setting
   * it emits the namespace's Sidecar `default`. The namespaces of Apps in other Meshes that this
   * mesh's workloads call are added to it.
   * @default - with a Sidecar: `./*` and `istio-system/*`
   * @see https://istio.io/latest/docs/reference/config/networking/sidecar/#IstioEgressListener
   */
  readonly egressHosts?: readonly string[];
  /** Props of the underlying cdk8s Chart (labels, disableResourceNameHashes is always on). */
  readonly chart?: Omit<ChartProps, 'namespace' | 'disableResourceNameHashes'>;
}

const labelMap = z.record(z.string(), z.string());
const meshSchema = z
  .strictObject({
    namespace: dnsLabel.default('default'),
    dataPlane: z.enum(['sidecar', 'ambient']).default('sidecar'),
    trafficApi: z.enum(['istio', 'gateway-api']).default('istio'),
    waypoint: z.boolean().optional(),
    trustDomain: z.string().min(1).default('cluster.local'),
    manageNamespace: z.boolean().default(true),
    podSecurity: z.enum(['privileged', 'baseline', 'restricted']).default('restricted'),
    mtls: z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']).optional(),
    defaultDeny: z.boolean().optional(),
    ingressGateway: z
      .strictObject({
        selector: labelMap.optional(),
        namespace: dnsLabel.optional(),
        serviceAccountName: z.string().min(1).optional(),
      })
      .optional(),
    sidecarInjection: z.boolean().default(true),
    revision: dnsLabel.optional(),
    accessLogging: z.boolean().default(false),
    traceSampling: percentage.optional(),
    outboundTrafficPolicy: z.enum(['ALLOW_ANY', 'REGISTRY_ONLY']).optional(),
    egressHosts: z
      .array(
        z
          .string()
          .regex(
            /^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\.|~|\*)\/\S+$/,
            'must be <namespace>/<host>, e.g. ./*, istio-system/*, payments/api.payments.svc.cluster.local',
          ),
      )
      .min(1)
      .optional(),
    chart: z.object({}).passthrough().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.dataPlane === 'ambient' && p.mtls === 'DISABLE') {
      ctx.addIssue({
        code: 'custom',
        path: ['mtls'],
        message:
          "PeerAuthentication DISABLE is incompatible with ambient mode: ztunnel always sends mTLS (HBONE) between ambient pods; use 'PERMISSIVE' to accept plain text from outside the mesh",
      });
    }
    if (p.dataPlane === 'sidecar' && p.waypoint) {
      ctx.addIssue({
        code: 'custom',
        path: ['waypoint'],
        message: "a waypoint is part of ambient mode: set dataPlane: 'ambient' or drop waypoint",
      });
    }
  });

/**
 * The mesh: a namespace of Apps with mesh-wide defaults (trust domain, mTLS, default deny, the
 * ingress gateway, telemetry). It is a cdk8s Chart: everything built inside it is written to one
 * manifest by `cdk8s synth`. Its call graph (`app.calls(other)`) drives {@link ZeroTrustPolicy}.
 */
export class Mesh extends Chart implements IMesh {
  /**
   * Ordinary `instanceof`: the one inherited from Chart (`Chart.isChart`) holds for any Chart, so
   * `Mesh.of` would return a plain Chart and an App outside a Mesh would fail later, obscurely.
   */
  static override [Symbol.hasInstance](o: unknown): o is Mesh {
    return Function.prototype[Symbol.hasInstance].call(this, o);
  }

  /** The Mesh a construct belongs to; throws if it is not inside one. */
  static override of(scope: IConstruct): Mesh {
    // Only a Mesh marks itself as one (the constructor), so what meshOf finds is a Mesh.
    return meshOf(scope) as Mesh;
  }

  /** Namespace of the mesh's objects (also the Chart's default namespace). */
  declare readonly namespace: string;
  readonly trustDomain: string;
  readonly dataPlane: DataPlane;
  readonly trafficApi: TrafficApi;
  /** The namespace's waypoint (ambient mode with `waypoint` on). */
  readonly waypoint: Waypoint | undefined;
  get waypointName(): string | undefined {
    return this.waypoint?.name;
  }
  readonly ingressGateway: Required<IngressGatewayRef>;
  /** Whether the namespace gets sidecars injected (its label, when the namespace is managed). */
  readonly sidecarInjection: boolean;
  readonly revision: string | undefined;
  readonly accessLogging: boolean;
  readonly traceSampling: number | undefined;
  /** The mesh's ZeroTrustPolicy, if any (at most one per mesh). */
  get zeroTrust(): ZeroTrustPolicy | undefined {
    return this._zeroTrust;
  }
  private _zeroTrust: ZeroTrustPolicy | undefined;

  /** The Sidecar `default` of the namespace, with `outboundTrafficPolicy` or `egressHosts`. */
  readonly sidecar: networking.Sidecar | undefined;
  private readonly egressHosts: string[] | undefined;
  private readonly _calls: MeshCall[] = [];
  private readonly callListeners: CallListener[] = [];
  private readonly _workloads: (IMeshPeer & IVersionedWorkload & IConstruct)[] = [];

  constructor(scope: Construct, id: string, props: MeshProps = {}) {
    super(scope, id, {
      ...(props.chart ?? {}),
      namespace: props.namespace ?? 'default',
      disableResourceNameHashes: true,
    });
    markMesh(this);
    const p = checkProps(this, meshSchema, props);
    if (p.dataPlane === 'ambient' && props.sidecarInjection === true) {
      throw new MeshPropsError(this.node.path, [
        {
          field: 'sidecarInjection',
          message: "ambient pods get no sidecar: drop sidecarInjection, or set dataPlane: 'sidecar'",
          received: 'true',
        },
      ]);
    }
    this.trustDomain = p.trustDomain;
    this.dataPlane = p.dataPlane;
    this.trafficApi = p.trafficApi;
    this.sidecarInjection = p.sidecarInjection;
    this.revision = p.revision;
    this.accessLogging = p.accessLogging;
    this.traceSampling = p.traceSampling;
    this.ingressGateway = {
      selector: p.ingressGateway?.selector ?? { istio: 'ingressgateway' },
      namespace: p.ingressGateway?.namespace ?? 'istio-system',
      serviceAccountName: p.ingressGateway?.serviceAccountName ?? 'istio-ingressgateway-service-account',
    };

    const ambientWaypoint = p.dataPlane === 'ambient' && p.waypoint !== false;
    this.waypoint = ambientWaypoint ? new Waypoint(this, 'Waypoint') : undefined;
    if (p.manageNamespace) {
      const ns = new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: this.namespace,
          labels: {
            ...this.dataPlaneLabels(p.sidecarInjection, p.revision, ambientWaypoint),
            'pod-security.kubernetes.io/enforce': p.podSecurity,
          },
        },
      });
      // A Namespace is cluster-scoped: drop the Chart's default namespace from it.
      ns.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }
    if (p.accessLogging || p.traceSampling !== undefined) {
      new telemetry.Telemetry(this, 'Telemetry', {
        metadata: { name: 'mesh-default', namespace: this.namespace },
        spec: {
          ...(p.accessLogging ? { accessLogging: [{ providers: [{ name: 'envoy' }] }] } : {}),
          ...(p.traceSampling !== undefined
            ? { tracing: [{ randomSamplingPercentage: p.traceSampling }] }
            : {}),
        },
      });
    }
    if (p.outboundTrafficPolicy || p.egressHosts) {
      this.egressHosts = [...(p.egressHosts ?? ['./*', 'istio-system/*'])];
      this.sidecar = new networking.Sidecar(this, 'Sidecar', {
        metadata: { name: 'default', namespace: this.namespace },
        spec: {
          egress: [{ hosts: this.egressHosts }],
          ...(p.outboundTrafficPolicy
            ? {
                outboundTrafficPolicy: {
                  mode: p.outboundTrafficPolicy as networking.SidecarSpecOutboundTrafficPolicyMode,
                },
              }
            : {}),
        },
      });
    }
    // `defaultDeny: false` is the default: it must not create a policy (and STRICT mTLS) by itself.
    if (p.mtls !== undefined || p.defaultDeny) {
      new ZeroTrustPolicy(this, 'ZeroTrust', { mtls: p.mtls, allowNothing: p.defaultDeny ?? false });
    }
  }

  /**
   * Synthesizes the chart and runs the whole-mesh validator over exactly those objects: errors
   * fail the synth, every finding listed at once with its construct path; warnings go to stderr.
   * (Running it here rather than as a construct validation renders each object once per
   * synthesis: cdk8s re-runs every construct validation of the app for each chart it writes.)
   */
  override toJson(): ReturnType<Chart['toJson']> {
    const objects = super.toJson();
    validateSynthesized(this, this.modelFacts(), objects as KubeObject[]);
    return objects;
  }

  /**
   * The namespace labels that choose the data plane: sidecar injection (or the revision), or
   * ambient capture, the waypoint Services use, and ingress traffic through that waypoint (so the
   * waypoint's policies see the ingress gateway as the caller).
   */
  private dataPlaneLabels(
    sidecarInjection: boolean,
    revision: string | undefined,
    waypoint: boolean,
  ): Record<string, string> {
    if (this.dataPlane === 'ambient') {
      return {
        'istio.io/dataplane-mode': 'ambient',
        ...(revision ? { 'istio.io/rev': revision } : {}),
        ...(waypoint
          ? { 'istio.io/use-waypoint': this.waypoint!.name, 'istio.io/ingress-use-waypoint': 'true' }
          : {}),
      };
    }
    return revision && sidecarInjection
      ? { 'istio.io/rev': revision }
      : { 'istio-injection': sidecarInjection ? 'enabled' : 'disabled' };
  }

  /** SPIFFE principal of a ServiceAccount in this mesh: `<trustDomain>/ns/<ns>/sa/<sa>`. */
  principalOf(namespace: string, serviceAccountName: string): string {
    return `${this.trustDomain}/ns/${namespace}/sa/${serviceAccountName}`;
  }

  /** The mesh model of this chart's objects as they are now (what the validator and `explain` read). */
  model(): MeshModel {
    return modelOfScope(this, this.modelFacts());
  }

  /** What the mesh states that its objects do not say: handed to the model explicitly. */
  private modelFacts(): ModelOptions {
    const undeployedSubsets: UndeployedSubset[] = this._workloads.flatMap((w) =>
      w.versions
        .filter((v) => !w.deployedVersions.includes(v))
        .map((subset) => ({ namespace: w.namespace, service: w.name, subset })),
    );
    return {
      trustDomain: this.trustDomain,
      defaultNamespace: this.namespace,
      calls: this.callGraph(),
      ...(undeployedSubsets.length ? { undeployedSubsets } : {}),
    };
  }

  /**
   * The declared call graph as the model reads it: each call's caller (name, namespace, principal),
   * callee, and the methods and paths declared (gRPC methods as paths). {@link writeCallGraphs}
   * writes it next to the synthesized YAML.
   */
  callGraph(): DeclaredCall[] {
    return this._calls.map((c) => ({
      from: { name: c.from.name, namespace: c.from.namespace, principal: c.from.principal },
      to: { name: c.to.name, namespace: c.to.namespace },
      ...(c.methods ? { methods: c.methods } : {}),
      ...(c.paths ? { paths: c.paths } : {}),
      ...(c.ports ? { ports: c.ports } : {}),
    }));
  }

  /** Where one request goes and whether it is allowed: the request simulator on this mesh. */
  explain(request: ExplainRequest): Explanation {
    return explainRequest(this.model(), request);
  }

  /** The hop-by-hop path of one request through iptables and the sidecars (`explain --path`). */
  explainPath(request: PathRequest): RequestPath {
    return explainPath(this.model(), request);
  }

  /** The declared call graph: calls from and to this mesh's workloads. */
  get calls(): readonly MeshCall[] {
    return this._calls;
  }

  /** Workloads (Apps) registered in this mesh. */
  get workloads(): readonly (IMeshPeer & IVersionedWorkload & IConstruct)[] {
    return this._workloads;
  }

  /** @internal registers the mesh's ZeroTrustPolicy. */
  _registerZeroTrust(zt: IConstruct): void {
    if (!(zt instanceof ZeroTrustPolicy))
      throw new Error(`${zt.node.path}: only a ZeroTrustPolicy registers as one`);
    if (this._zeroTrust) {
      throw new Error(
        `${zt.node.path}: ${this.node.path} already has a ZeroTrustPolicy (${this._zeroTrust.node.path}); a mesh has one`,
      );
    }
    this._zeroTrust = zt;
  }

  /**
   * @internal registers a workload (an App or a Client): its name and ServiceAccount must be its own
   * within the namespace, unless it says it shares the ServiceAccount.
   */
  _registerWorkload(w: IMeshPeer & IVersionedWorkload & IConstruct, sharesServiceAccount = false): void {
    const same = this._workloads.find((o) => o.namespace === w.namespace && o.name === w.name);
    if (same) {
      throw new Error(
        `${w.node.path}: a workload named ${w.name} already exists in namespace ${w.namespace} (${same.node.path}); names of Services and Deployments must be unique: give one of them another name`,
      );
    }
    const sa = this._workloads.find(
      (o) => o.namespace === w.namespace && o.serviceAccountName === w.serviceAccountName,
    );
    if (sa && !sharesServiceAccount) {
      throw new Error(
        `${w.node.path}: ServiceAccount ${w.namespace}/${w.serviceAccountName} is already the identity of ${sa.node.path}; give ${w.name} its own serviceAccountName, or set shareServiceAccount: true to give both the same principal`,
      );
    }
    if (!sa && sharesServiceAccount) {
      throw new Error(
        `${w.node.path}: shareServiceAccount is set, but no workload declared before it in ${this.node.path} creates ServiceAccount ${w.namespace}/${w.serviceAccountName}; create the one that owns it first, or drop shareServiceAccount`,
      );
    }
    this._workloads.push(w);
  }

  /**
   * @internal records a call from or to this mesh, tells the listeners (the ZeroTrustPolicy) when
   * the callee is in this mesh, and hands a call into another Mesh to that Mesh, whose policies
   * guard the callee.
   */
  _recordCall(call: MeshCall): void {
    if (this._calls.includes(call)) return;
    this._calls.push(call);
    // The callee's namespace must be visible to this namespace's sidecars.
    const seen = `${call.to.namespace}/*`;
    if (this.egressHosts && call.from.namespace === this.namespace && call.to.namespace !== this.namespace)
      if (!this.egressHosts.includes(seen) && !this.egressHosts.includes('*/*')) this.egressHosts.push(seen);
    const calleeMesh = isConstructLike(call.to) ? meshOf(call.to) : this;
    if (calleeMesh !== this) {
      calleeMesh._recordCall(call);
      return;
    }
    for (const l of this.callListeners) l(call);
  }

  /** @internal subscribes to the calls into this mesh, replaying the ones already declared. */
  _onCall(listener: CallListener): void {
    this.callListeners.push(listener);
    for (const c of this._calls) if (this.isInbound(c)) listener(c);
  }

  private isInbound(call: MeshCall): boolean {
    return !isConstructLike(call.to) || meshOf(call.to) === this;
  }
}

/** Whether `x` is a construct (has a construct node), so that its Mesh can be looked up. */
function isConstructLike(x: unknown): x is IConstruct {
  return typeof x === 'object' && x !== null && 'node' in x;
}
