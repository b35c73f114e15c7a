/**
 * What an App and a Client share: their identity (name, namespace, ServiceAccount, SPIFFE
 * principal, registration in the Mesh), set up once by {@link MeshWorkload}; the props of their
 * pods (image, resources, probes, user and group ids, pod labels and annotations, autoscaling); and
 * the one function that renders those as a Deployment (through cdk8s-plus, Pod Security
 * `restricted`) and its HorizontalPodAutoscaler.
 */
import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { Mesh } from './mesh.js';
import type { IMeshPeer, ISidecarAware, IVersionedWorkload } from './peer.js';
import { RESTRICTED_CONTAINER } from './pod-security.js';
import { dnsLabel, duration, portNumber } from './validation.js';

/** CPU and memory as Kubernetes quantities (`'100m'`, `'0.5'`, `'128Mi'`, `'1Gi'`). */
export interface ResourceQuantities {
  /** CPU, e.g. `'100m'`. @default - none */
  readonly cpu?: string;
  /** Memory, e.g. `'128Mi'`. @default - none */
  readonly memory?: string;
}

/**
 * Requests and limits of the workload's container.
 * @see https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
 */
export interface ResourceRequirements {
  /** What the scheduler reserves. @default - none */
  readonly requests?: ResourceQuantities;
  /** The most the container may use. @default - none */
  readonly limits?: ResourceQuantities;
}

/**
 * A container probe: exactly one of `http`, `grpc`, `tcp` or `exec`, and its timing.
 * Under Istio the sidecar rewrites HTTP and gRPC probes so that they pass STRICT mTLS.
 * @see https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe
 */
export interface Probe {
  /** An HTTP GET; 2xx and 3xx pass. @default - not an HTTP probe */
  readonly http?: {
    /** Path, e.g. `/healthz`. */
    readonly path: string;
    /** Container port. @default - the workload's first container port */
    readonly port?: number;
    /** Request headers. @default - none */
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** The standard gRPC health check (`grpc.health.v1.Health/Check`). @default - not a gRPC probe */
  readonly grpc?: {
    /** Container port. @default - the workload's first container port */
    readonly port?: number;
    /** Service name sent in the check. @default - '' (the server as a whole) */
    readonly service?: string;
  };
  /** A TCP connection. @default - not a TCP probe */
  readonly tcp?: {
    /** Container port. @default - the workload's first container port */
    readonly port?: number;
  };
  /** A command run in the container; exit status 0 passes. @default - not an exec probe */
  readonly exec?: { readonly command: readonly string[] };
  /** Wait before the first probe. @default - none */
  readonly initialDelay?: Duration;
  /** Between probes. @default Duration.seconds(10) */
  readonly period?: Duration;
  /** Timeout of one probe. @default Duration.seconds(1) */
  readonly timeout?: Duration;
  /** Failures in a row before it counts as failed. @default 3 */
  readonly failureThreshold?: number;
  /** Successes in a row after a failure before it counts as passed (1 for liveness and startup). @default 1 */
  readonly successThreshold?: number;
}

/** Scales each deployed version between `minReplicas` and `maxReplicas` (a HorizontalPodAutoscaler, autoscaling/v2). */
export interface Autoscaling {
  /** Fewest replicas. @default - the workload's `replicas` (at least 1) */
  readonly minReplicas?: number;
  /** Most replicas. */
  readonly maxReplicas: number;
  /** Target average CPU utilization, percent of the CPU request. @default 80 (unless only memory is given) */
  readonly cpuUtilization?: number;
  /** Target average memory utilization, percent of the memory request. @default - none */
  readonly memoryUtilization?: number;
}

/** The props of a workload's pods, shared by {@link App} and {@link Client}. */
export interface WorkloadPodProps {
  /**
   * Container image; `{version}` is replaced by the version name, e.g.
   * `registry.istio.io/release/examples-bookinfo-reviews-{version}:1.20.3`.
   * @default - none: required unless every deployed version sets its own image
   */
  readonly image?: string;
  /** Name of the container. @default - the workload's name */
  readonly containerName?: string;
  /** Command (the image's ENTRYPOINT is replaced). @default - the image's */
  readonly command?: readonly string[];
  /** Arguments. @default - the image's CMD */
  readonly args?: readonly string[];
  /** ServiceAccount, the workload's SPIFFE identity. @default - the workload's name */
  readonly serviceAccountName?: string;
  /**
   * Use a ServiceAccount another workload of the mesh already creates (same `serviceAccountName`):
   * the two share one identity and so one principal. Without it, a second workload naming the same
   * ServiceAccount is an error.
   * @default false
   */
  readonly shareServiceAccount?: boolean;
  /** Replicas per version. @default 1 */
  readonly replicas?: number;
  /** Environment of the container. @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Writable paths (emptyDir volumes), since the root filesystem is read-only under Pod Security
   * `restricted`. @default ['/tmp']
   */
  readonly writablePaths?: readonly string[];
  /** Container requests and limits. @default { requests: { cpu: '100m', memory: '128Mi' } } */
  readonly resources?: ResourceRequirements;
  /** Readiness probe, or `false` for none. @default - per protocol of the first port: `grpc` for gRPC, `tcp` otherwise; none without ports */
  readonly readiness?: Probe | false;
  /** Liveness probe. @default - none */
  readonly liveness?: Probe;
  /** Startup probe. @default - none */
  readonly startup?: Probe;
  /** User id the containers run as (pod `securityContext.runAsUser`); never 0 under `restricted`. @default - the image's (must not be root) */
  readonly runAsUser?: number;
  /** Primary group id of the containers (pod `securityContext.runAsGroup`). @default - the image's */
  readonly runAsGroup?: number;
  /** Group that owns mounted volumes (pod `securityContext.fsGroup`). @default - none */
  readonly fsGroup?: number;
  /** Extra labels of the pods (not `app` or `version`, which the workload sets). @default - none */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** Annotations of the pods (not `sidecar.istio.io/inject`: use `sidecar`). @default - none */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /** Time given to the container to stop after SIGTERM. @default Duration.seconds(30) */
  readonly terminationGracePeriod?: Duration;
  /** A HorizontalPodAutoscaler per deployed version; the Deployments then leave `replicas` to it. @default - none */
  readonly autoscaling?: Autoscaling;
  /** Inject the Envoy sidecar into the pods. @default true */
  readonly sidecar?: boolean;
}

const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$/;
const quantity = z
  .string()
  .regex(QUANTITY, "must be a Kubernetes quantity such as '100m', '0.5', '128Mi' or '1Gi'");
const quantities = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const labelMap = z.record(z.string().min(1), z.string());
const probeSchema = z
  .strictObject({
    http: z
      .strictObject({
        path: z.string().startsWith('/', 'a probe path starts with /'),
        port: portNumber.optional(),
        headers: z.record(z.string().min(1), z.string()).optional(),
      })
      .optional(),
    grpc: z.strictObject({ port: portNumber.optional(), service: z.string().optional() }).optional(),
    tcp: z.strictObject({ port: portNumber.optional() }).optional(),
    exec: z.strictObject({ command: z.array(z.string()).min(1, 'give the command to run') }).optional(),
    initialDelay: duration.optional(),
    period: duration.optional(),
    timeout: duration.optional(),
    failureThreshold: z.number().int().min(1).optional(),
    successThreshold: z.number().int().min(1).optional(),
  })
  .superRefine((p, ctx) => {
    const kinds = (['http', 'grpc', 'tcp', 'exec'] as const).filter((k) => p[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `a probe has exactly one of http, grpc, tcp or exec (got ${kinds.length ? kinds.join(', ') : 'none'})`,
      });
  });
const userId = z.number().int('an id is an integer').min(0);

/** @internal the zod fields of a workload's identity: its name, namespace and ServiceAccount. */
export const workloadIdentityFields = {
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  serviceAccountName: dnsLabel.optional(),
};

/** @internal the zod fields of {@link WorkloadPodProps}. */
export const workloadPodFields = {
  image: z.string().min(1).optional(),
  containerName: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label')
    .max(63)
    .optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  shareServiceAccount: z.boolean().default(false),
  replicas: z.number().int().min(0).default(1),
  env: z.record(z.string(), z.string()).optional(),
  writablePaths: z.array(z.string().startsWith('/')).default(['/tmp']),
  resources: z
    .strictObject({ requests: quantities.optional(), limits: quantities.optional() })
    .default({ requests: { cpu: '100m', memory: '128Mi' } }),
  readiness: z.union([probeSchema, z.literal(false)]).optional(),
  liveness: probeSchema.optional(),
  startup: probeSchema.optional(),
  runAsUser: userId.min(1, 'runAsUser 0 is root, which Pod Security restricted refuses').optional(),
  runAsGroup: userId.optional(),
  fsGroup: userId.optional(),
  podLabels: labelMap
    .refine((l) => !('app' in l) && !('version' in l), {
      message: 'the workload sets the app and version labels itself; choose other keys',
    })
    .optional(),
  podAnnotations: labelMap
    .refine((a) => !('sidecar.istio.io/inject' in a), {
      message: 'set sidecar: false instead of the sidecar.istio.io/inject annotation',
    })
    .optional(),
  terminationGracePeriod: duration.optional(),
  autoscaling: z
    .strictObject({
      minReplicas: z.number().int().min(1).optional(),
      maxReplicas: z.number().int().min(1),
      cpuUtilization: z.number().int().min(1).optional(),
      memoryUtilization: z.number().int().min(1).optional(),
    })
    .optional(),
  sidecar: z.boolean().default(true),
};

/** @internal the parsed pod props. */
export type WorkloadPod = z.output<z.ZodObject<typeof workloadPodFields>>;

/**
 * Cross-field checks of the pod props: autoscaling bounds and the requests a utilization target
 * needs. `add` reports one issue at a field path.
 * @internal
 */
export function checkWorkloadPod(
  p: WorkloadPod,
  add: (path: (string | number)[], message: string) => void,
): void {
  const a = p.autoscaling;
  if (!a) return;
  const min = a.minReplicas ?? Math.max(p.replicas, 1);
  if (min > a.maxReplicas)
    add(['autoscaling', 'maxReplicas'], `maxReplicas ${a.maxReplicas} is below minReplicas ${min}`);
  const cpu = a.cpuUtilization ?? (a.memoryUtilization === undefined ? 80 : undefined);
  if (cpu !== undefined && !p.resources.requests?.cpu)
    add(
      ['resources', 'requests', 'cpu'],
      'a CPU utilization target needs a CPU request: set resources.requests.cpu',
    );
  if (a.memoryUtilization !== undefined && !p.resources.requests?.memory)
    add(
      ['resources', 'requests', 'memory'],
      'a memory utilization target needs a memory request: set resources.requests.memory',
    );
}

/** A container port of a workload. */
export interface ContainerPort {
  readonly number: number;
}

/** What {@link renderDeployment} needs besides the pod props. */
export interface DeploymentInput {
  /** Kubernetes name of the Deployment. */
  readonly name: string;
  readonly namespace: string;
  /** Labels of the Deployment and its pods (`app`, `version`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  readonly replicas: number;
  readonly containerName: string;
  readonly serviceAccount: kplus.IServiceAccount;
  /** Container ports; the first is where default probes look. */
  readonly ports: readonly ContainerPort[];
  /** The readiness probe when the props set none. */
  readonly defaultReadiness: Probe | undefined;
  /** How pods join the mesh: `sidecar: false` is an annotation with sidecars, a label in ambient mode. @default 'sidecar' */
  readonly dataPlane?: 'sidecar' | 'ambient';
}

const seconds = (d: Duration | undefined) => (d === undefined ? undefined : d.toSeconds());

/**
 * Patches of a cdk8s-plus object apply before the generated `toJson_` of its L1 object runs, which
 * reads IntOrString and Quantity fields as `{ value }`: values patched there are given that way.
 */
const union = <T extends string | number>(value: T) => ({ value });

/** A probe in the shape of the L1 object's props (ports default to `port`). */
function renderProbe(p: Probe, port: number | undefined): Record<string, unknown> {
  const at = (own: number | undefined, kind: string) => {
    const n = own ?? port;
    if (n === undefined)
      throw new Error(`a ${kind} probe needs a port: the workload has none, so give probe.${kind}.port`);
    return n;
  };
  const check = p.http
    ? {
        httpGet: {
          path: p.http.path,
          port: union(at(p.http.port, 'http')),
          ...(p.http.headers
            ? { httpHeaders: Object.entries(p.http.headers).map(([name, value]) => ({ name, value })) }
            : {}),
        },
      }
    : p.grpc
      ? { grpc: { port: at(p.grpc.port, 'grpc'), ...(p.grpc.service ? { service: p.grpc.service } : {}) } }
      : p.tcp
        ? { tcpSocket: { port: union(at(p.tcp.port, 'tcp')) } }
        : { exec: { command: [...p.exec!.command] } };
  const timing = {
    initialDelaySeconds: seconds(p.initialDelay),
    periodSeconds: seconds(p.period),
    timeoutSeconds: seconds(p.timeout),
    failureThreshold: p.failureThreshold,
    successThreshold: p.successThreshold,
  };
  return {
    ...check,
    ...Object.fromEntries(Object.entries(timing).filter(([, v]) => v !== undefined)),
  };
}

/**
 * A Deployment of one version of a workload, Pod Security `restricted`, with the pod props applied,
 * and its HorizontalPodAutoscaler when `autoscaling` is set.
 * @internal
 */
export function renderDeployment(
  scope: Construct,
  id: string,
  p: WorkloadPod,
  input: DeploymentInput,
): { deployment: kplus.Deployment; autoscaler: k8s.KubeHorizontalPodAutoscalerV2 | undefined } {
  const ambient = input.dataPlane === 'ambient';
  const annotations = {
    ...(p.podAnnotations ?? {}),
    ...(p.sidecar || ambient ? {} : { 'sidecar.istio.io/inject': 'false' }),
  };
  const outOfMesh: Record<string, string> =
    !p.sidecar && ambient ? { 'istio.io/dataplane-mode': 'none' } : {};
  const d = new kplus.Deployment(scope, id, {
    metadata: { name: input.name, namespace: input.namespace, labels: { ...input.labels } },
    replicas: input.replicas,
    select: false,
    podMetadata: {
      labels: { ...(p.podLabels ?? {}), ...input.labels, ...outOfMesh },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    serviceAccount: input.serviceAccount,
    securityContext: {
      ensureNonRoot: true,
      ...(p.runAsUser !== undefined ? { user: p.runAsUser } : {}),
      ...(p.runAsGroup !== undefined ? { group: p.runAsGroup } : {}),
      ...(p.fsGroup !== undefined ? { fsGroup: p.fsGroup } : {}),
    },
    ...(p.terminationGracePeriod ? { terminationGracePeriod: p.terminationGracePeriod } : {}),
    containers: [
      {
        name: input.containerName,
        image: input.image,
        ports: input.ports.map((port) => ({ number: port.number })),
        ...(p.command ? { command: [...p.command] } : {}),
        ...(p.args ? { args: [...p.args] } : {}),
        envVariables: Object.fromEntries(
          Object.entries(p.env ?? {}).map(([k, val]) => [k, kplus.EnvValue.fromValue(val)]),
        ),
        // Requests and limits are set below as the quantities given; none here keeps cdk8s-plus's defaults out.
        resources: {},
        securityContext: RESTRICTED_CONTAINER,
        volumeMounts: p.writablePaths.map((path, i) => ({
          path,
          volume: kplus.Volume.fromEmptyDir(scope, `${id}-writable-${i}`, `writable-${i}`),
        })),
      },
    ],
  });
  d.select(kplus.LabelSelector.of({ labels: { ...input.labels } }));

  // What cdk8s-plus cannot say (gRPC probes, quantities as written) or says by default (a TCP startup
  // probe on the first port) is set on the rendered object.
  const obj = ApiObject.of(d);
  const container = '/spec/template/spec/containers/0';
  const firstPort = input.ports[0]?.number;
  if (input.ports.length) obj.addJsonPatch(JsonPatch.remove(`${container}/startupProbe`));
  const requirements = Object.fromEntries(
    (['requests', 'limits'] as const)
      .map((k) => [k, p.resources[k]] as const)
      .filter(([, q]) => q && Object.keys(q).length)
      .map(([k, q]) => [k, Object.fromEntries(Object.entries(q!).map(([r, v]) => [r, union(v)]))]),
  );
  if (Object.keys(requirements).length)
    obj.addJsonPatch(JsonPatch.add(`${container}/resources`, requirements));
  const readiness = p.readiness === false ? undefined : (p.readiness ?? input.defaultReadiness);
  const probes = { readinessProbe: readiness, livenessProbe: p.liveness, startupProbe: p.startup };
  for (const [field, probe] of Object.entries(probes)) {
    if (probe) obj.addJsonPatch(JsonPatch.add(`${container}/${field}`, renderProbe(probe, firstPort)));
  }

  let autoscaler: k8s.KubeHorizontalPodAutoscalerV2 | undefined;
  const a = p.autoscaling;
  if (a) {
    obj.addJsonPatch(JsonPatch.remove('/spec/replicas'));
    const cpu = a.cpuUtilization ?? (a.memoryUtilization === undefined ? 80 : undefined);
    const target = (name: string, averageUtilization: number) => ({
      type: 'Resource',
      resource: { name, target: { type: 'Utilization', averageUtilization } },
    });
    autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(scope, `${id}-Autoscaler`, {
      metadata: { name: input.name, namespace: input.namespace, labels: { ...input.labels } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.name },
        minReplicas: a.minReplicas ?? Math.max(p.replicas, 1),
        maxReplicas: a.maxReplicas,
        metrics: [
          ...(cpu !== undefined ? [target('cpu', cpu)] : []),
          ...(a.memoryUtilization !== undefined ? [target('memory', a.memoryUtilization)] : []),
        ],
      },
    });
  }
  return { deployment: d, autoscaler };
}

/** A workload's identity as its props give it, checked (defaults applied). */
export interface WorkloadIdentityProps {
  /** Name of the workload (Service, Deployments, `app` label). */
  readonly name: string;
  /** Namespace. @default - the mesh's */
  readonly namespace?: string;
  /** ServiceAccount. @default - the workload's name */
  readonly serviceAccountName?: string;
  /** Use a ServiceAccount an earlier workload of the mesh creates. */
  readonly shareServiceAccount: boolean;
  /** Whether the pods get the sidecar. */
  readonly sidecar: boolean;
}

/**
 * A workload of a Mesh with an identity of its own: a name and namespace, a ServiceAccount (created
 * here, labelled `app` and `account`, token not mounted, unless shared with an earlier workload)
 * and the SPIFFE principal policies name. The constructor registers it in its Mesh, which refuses
 * a second workload of the same name or an unannounced shared ServiceAccount. {@link App} and
 * {@link Client} are the two kinds.
 */
export abstract class MeshWorkload extends Construct implements IMeshPeer, IVersionedWorkload, ISidecarAware {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly principal: string;
  /** Labels common to all its pods: `app: <name>`. */
  readonly selector: Readonly<Record<string, string>>;
  /** Whether the pods are in the mesh (the sidecar, or ambient capture). */
  readonly sidecar: boolean;
  readonly mesh: Mesh;
  /** The ServiceAccount, or a reference to the shared one another workload creates. */
  readonly serviceAccount: kplus.IServiceAccount;
  abstract readonly versions: readonly string[];
  abstract readonly deployedVersions: readonly string[];

  protected constructor(scope: Construct, id: string, identity: WorkloadIdentityProps) {
    super(scope, id);
    this.mesh = Mesh.of(this);
    this.name = identity.name;
    this.namespace = identity.namespace ?? this.mesh.namespace;
    this.serviceAccountName = identity.serviceAccountName ?? this.name;
    this.principal = this.mesh.principalOf(this.namespace, this.serviceAccountName);
    this.selector = { app: this.name };
    this.sidecar = identity.sidecar;
    this.mesh._registerWorkload(this, identity.shareServiceAccount);
    this.serviceAccount = identity.shareServiceAccount
      ? kplus.ServiceAccount.fromServiceAccountName(this, 'ServiceAccount', this.serviceAccountName)
      : new kplus.ServiceAccount(this, 'ServiceAccount', {
          metadata: {
            name: this.serviceAccountName,
            namespace: this.namespace,
            labels: { app: this.name, account: this.name },
          },
          automountToken: false,
        });
  }
}
