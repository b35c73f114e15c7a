import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { z } from 'zod';
import { checkProps, dnsLabel, percentage, portNumber } from './validation.js';

/** Istio's built-in installation profiles. @see https://istio.io/latest/docs/setup/additional-setup/config-profiles/ */
export type IstioProfile =
  'default' | 'demo' | 'minimal' | 'remote' | 'empty' | 'preview' | 'ambient' | 'stable';

/** A port of the ingress gateway Service. */
export interface GatewayServicePort {
  readonly name: string;
  readonly port: number;
  /** @default - the port */
  readonly targetPort?: number;
  /** Fixed node port when the Service type is NodePort. @default - allocated */
  readonly nodePort?: number;
}

/** What an install needs to know of a mesh (a {@link Mesh} provides it). */
export interface IMeshInstallNeeds {
  readonly revision?: string;
  readonly accessLogging: boolean;
  readonly traceSampling?: number;
}

export interface IstioInstallProps {
  /** The mesh whose needs shape the install (access log, trace sampling, revision). @default - none */
  readonly mesh?: IMeshInstallNeeds;
  /** Installation profile. @default 'default' */
  readonly profile?: IstioProfile;
  /** Control-plane revision (canary upgrades); namespaces then use `istio.io/rev`. @default - the mesh's revision, else none */
  readonly revision?: string;
  /** Container registry and tag of the Istio images. @default - the profile's */
  readonly hub?: string;
  readonly tag?: string;
  /** The ingress gateway. @default - enabled with the profile's Service */
  readonly ingressGateway?: {
    /** @default true */
    readonly enabled?: boolean;
    /** Service type. @default 'LoadBalancer' */
    readonly serviceType?: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
    /** `Local` keeps the client source IP and avoids a second hop. @default - Kubernetes' default (Cluster) */
    readonly externalTrafficPolicy?: 'Cluster' | 'Local';
    /** Service ports. @default - the profile's (status-port 15021, http2 80, https 443) */
    readonly ports?: readonly GatewayServicePort[];
  };
  /** The egress gateway. @default - the profile's (enabled only by `demo`) */
  readonly egressGateway?: { readonly enabled: boolean };
  /** Envoy access log file, e.g. '/dev/stdout'. @default - '/dev/stdout' when the mesh has access logging, else the profile's */
  readonly accessLogFile?: string;
  /** Trace sampling percentage. @default - the mesh's traceSampling, else the profile's */
  readonly traceSampling?: number;
  /** `REGISTRY_ONLY` blocks calls to hosts not in the mesh's registry. @default - the profile's (ALLOW_ANY) */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /**
   * IstioOperator `spec` fields this construct does not model, merged in as given and not
   * validated: the explicit escape hatch.
   * @default - none
   */
  readonly unvalidatedSpec?: Readonly<Record<string, unknown>>;
  /** Name of the IstioOperator. @default 'installed-state' */
  readonly name?: string;
}

const schema = z.strictObject({
  mesh: z.custom<IMeshInstallNeeds>((m) => typeof m === 'object' && m !== null, 'expected a Mesh').optional(),
  profile: z
    .enum(['default', 'demo', 'minimal', 'remote', 'empty', 'preview', 'ambient', 'stable'])
    .default('default'),
  revision: dnsLabel.optional(),
  hub: z.string().min(1).optional(),
  tag: z.string().min(1).optional(),
  ingressGateway: z
    .strictObject({
      enabled: z.boolean().default(true),
      serviceType: z.enum(['LoadBalancer', 'NodePort', 'ClusterIP']).optional(),
      externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
      ports: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            port: portNumber,
            targetPort: portNumber.optional(),
            nodePort: z.number().int().min(1).max(65535).optional(),
          }),
        )
        .min(1)
        .optional(),
    })
    .refine((g) => g.serviceType !== 'ClusterIP' || g.externalTrafficPolicy === undefined, {
      error: 'externalTrafficPolicy applies to LoadBalancer and NodePort Services only',
      path: ['externalTrafficPolicy'],
    })
    .optional(),
  egressGateway: z.strictObject({ enabled: z.boolean() }).optional(),
  accessLogFile: z.string().min(1).optional(),
  traceSampling: percentage.optional(),
  outboundTrafficPolicy: z.enum(['ALLOW_ANY', 'REGISTRY_ONLY']).optional(),
  unvalidatedSpec: z.record(z.string(), z.unknown()).optional(),
  name: dnsLabel.default('installed-state'),
});

/**
 * An `IstioOperator` (`install.istio.io/v1alpha1`) for `istioctl install -f`: the profile, the
 * gateways, the ingress gateway Service, and the mesh config the constructs depend on. Put it in
 * its own chart (and output directory): it is read by istioctl, not applied with kubectl.
 */
export class IstioInstall extends Construct {
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: IstioInstallProps = {}) {
    super(scope, id);
    const p = checkProps(this, schema, props);
    const mesh = p.mesh;
    const revision = p.revision ?? mesh?.revision;
    const accessLogFile = p.accessLogFile ?? (mesh?.accessLogging ? '/dev/stdout' : undefined);
    const sampling = p.traceSampling ?? mesh?.traceSampling;

    const meshConfig: Record<string, unknown> = {};
    if (accessLogFile) meshConfig.accessLogFile = accessLogFile;
    if (sampling !== undefined) {
      meshConfig.enableTracing = true;
      meshConfig.defaultConfig = { tracing: { sampling } };
    }
    if (p.outboundTrafficPolicy) meshConfig.outboundTrafficPolicy = { mode: p.outboundTrafficPolicy };

    const components: Record<string, unknown> = {};
    if (p.ingressGateway) {
      const g = p.ingressGateway;
      const service = {
        ...(g.serviceType ? { type: g.serviceType } : {}),
        ...(g.externalTrafficPolicy ? { externalTrafficPolicy: g.externalTrafficPolicy } : {}),
        ...(g.ports
          ? { ports: g.ports.map((port) => ({ ...port, targetPort: port.targetPort ?? port.port })) }
          : {}),
      };
      components.ingressGateways = [
        {
          name: 'istio-ingressgateway',
          enabled: g.enabled,
          ...(Object.keys(service).length ? { k8s: { service } } : {}),
        },
      ];
    }
    if (p.egressGateway)
      components.egressGateways = [{ name: 'istio-egressgateway', enabled: p.egressGateway.enabled }];

    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: p.name, namespace: 'istio-system' },
      spec: {
        profile: p.profile,
        ...(revision ? { revision } : {}),
        ...(p.hub ? { hub: p.hub } : {}),
        ...(p.tag ? { tag: p.tag } : {}),
        ...(Object.keys(meshConfig).length ? { meshConfig } : {}),
        ...(Object.keys(components).length ? { components } : {}),
        ...p.unvalidatedSpec,
      },
    });
  }
}
