import { Construct } from 'constructs';
import { z } from 'zod';
import * as networking from '../imports/networking.istio.io.js';
import { meshOf, type IMesh } from './mesh-scope.js';
import { checkProps, dnsLabel, portNumber } from './validation.js';

/** Protocols of a ServiceEntry port. @see https://istio.io/latest/docs/reference/config/networking/service-entry/#ServicePort */
export type ExternalProtocol = 'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'TLS' | 'TCP' | 'MONGO';

/** One port of an external service. */
export interface ExternalPort {
  /** The port number. */
  readonly number: number;
  /** Its protocol. */
  readonly protocol: ExternalProtocol;
  /** Its name. @default - the protocol in lower case, or `<protocol>-<number>` when several ports share it */
  readonly name?: string;
}

export interface ExternalServiceProps {
  /** Name of the ServiceEntry. @default - the construct id */
  readonly name?: string;
  /** Hosts, DNS names with an optional leading wildcard (`api.stripe.com`, `*.googleapis.com`). */
  readonly hosts: readonly string[];
  /** Ports. @default [{ number: 443, protocol: 'TLS' }] */
  readonly ports?: readonly ExternalPort[];
  /**
   * How the sidecar finds the endpoints: `DNS` (resolve the hosts), `STATIC` (`addresses`), `NONE`
   * (connect to the address the application resolved; the only choice with wildcard hosts).
   * @default - 'NONE' when a host has a wildcard, 'DNS' otherwise
   */
  readonly resolution?: 'DNS' | 'DNS_ROUND_ROBIN' | 'STATIC' | 'NONE';
  /** Whether the service is outside the mesh (no sidecar, no mTLS). @default 'MESH_EXTERNAL' */
  readonly location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  /** Virtual IPs or CIDR blocks of the service. @default - none */
  readonly addresses?: readonly string[];
  /** Namespace of the ServiceEntry. @default - the mesh's */
  readonly namespace?: string;
  /** Namespaces that see it (`.` for its own, `*` for all). @default - all */
  readonly exportTo?: readonly string[];
}

const HOST = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const protocols = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP', 'MONGO'] as const;
const schema = z
  .strictObject({
    name: dnsLabel,
    hosts: z
      .array(z.string().regex(HOST, 'must be a DNS name, optionally with a leading *. wildcard (no bare *)'))
      .min(1, 'an external service has at least one host'),
    ports: z
      .array(
        z.strictObject({
          number: portNumber,
          protocol: z.enum(protocols),
          name: dnsLabel.optional(),
        }),
      )
      .min(1)
      .default([{ number: 443, protocol: 'TLS' }]),
    resolution: z.enum(['DNS', 'DNS_ROUND_ROBIN', 'STATIC', 'NONE']).optional(),
    location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).default('MESH_EXTERNAL'),
    addresses: z.array(z.string().min(1)).min(1).optional(),
    namespace: dnsLabel.optional(),
    exportTo: z.array(z.string().min(1)).min(1).optional(),
  })
  .superRefine((p, ctx) => {
    const wildcard = p.hosts.find((h) => h.startsWith('*'));
    if (wildcard && p.resolution && p.resolution !== 'NONE')
      ctx.addIssue({
        code: 'custom',
        path: ['resolution'],
        message: `${p.resolution} resolution cannot resolve the wildcard host ${wildcard}: use NONE or list the hosts`,
      });
    if (p.resolution === 'STATIC' && !p.addresses)
      ctx.addIssue({ code: 'custom', path: ['addresses'], message: 'STATIC resolution needs addresses' });
    const numbers = p.ports.map((q) => q.number);
    numbers.forEach((n, i) => {
      if (numbers.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['ports', i, 'number'], message: `port ${n} is listed twice` });
    });
  });

/**
 * A service outside the cluster that the mesh's workloads call: a ServiceEntry, which puts its
 * hosts in Istio's registry. Under the Mesh's `outboundTrafficPolicy: 'REGISTRY_ONLY'` only such
 * hosts are reachable (anything else ends in Envoy's `BlackHoleCluster`, a 502).
 * @see https://istio.io/latest/docs/reference/config/networking/service-entry/
 */
export class ExternalService extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly mesh: IMesh;
  readonly serviceEntry: networking.ServiceEntry;

  constructor(scope: Construct, id: string, props: ExternalServiceProps) {
    super(scope, id);
    const p = checkProps(this, schema, { ...props, name: props.name ?? id });
    this.mesh = meshOf(this);
    this.name = p.name;
    this.namespace = p.namespace ?? this.mesh.namespace;
    this.hosts = p.hosts;
    const resolution = p.resolution ?? (p.hosts.some((h) => h.startsWith('*')) ? 'NONE' : 'DNS');
    const ports = p.ports.map((q) => {
      const shared = p.ports.filter((o) => o.protocol === q.protocol).length > 1;
      const base = q.protocol.toLowerCase();
      return {
        name: q.name ?? (shared ? `${base}-${q.number}` : base),
        number: q.number,
        protocol: q.protocol,
      };
    });
    this.serviceEntry = new networking.ServiceEntry(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        hosts: [...p.hosts],
        ...(p.addresses ? { addresses: [...p.addresses] } : {}),
        ports,
        location: p.location as networking.ServiceEntrySpecLocation,
        resolution: resolution as networking.ServiceEntrySpecResolution,
        ...(p.exportTo ? { exportTo: [...p.exportTo] } : {}),
      },
    });
  }
}
