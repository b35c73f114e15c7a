import { Construct } from 'constructs';
import { z } from 'zod';
import * as certmanager from '../imports/cert-manager.io.js';
import * as networking from '../imports/networking.istio.io.js';
import { Mesh } from './mesh.js';
import type { IMeshPeer, IWorkload } from './peer.js';
import { renderMatch, type StringMatch } from './routing.js';
import { checkProps, dnsLabel, portNumber } from './validation.js';
import type { IngressGatewayPeer } from './zero-trust-policy.js';

/** HTTPS on the gateway with a cert-manager Certificate. */
export interface IngressTls {
  /** Host names on the certificate (and the HTTPS server's hosts). */
  readonly dnsNames: readonly string[];
  /** The cert-manager issuer that signs it. */
  readonly issuer: { readonly name: string; readonly kind?: 'ClusterIssuer' | 'Issuer' };
  /** HTTPS port. @default 443 */
  readonly port?: number;
  /** Secret holding the certificate, referenced by the Gateway's `credentialName`. @default '<gateway name>-cert' */
  readonly credentialName?: string;
  /** Answer plain HTTP with a redirect to HTTPS. @default false */
  readonly httpsRedirect?: boolean;
}

export interface IngressGatewayProps {
  /** Gateway name. @default - the construct id */
  readonly name?: string;
  /** Name of the VirtualService binding the routes to the gateway. @default - the Gateway's name */
  readonly virtualServiceName?: string;
  /** Hosts the Gateway's server accepts. @default ['*'] */
  readonly hosts?: readonly string[];
  /** Hosts of the VirtualService (a subset of the Gateway's). @default - the Gateway's hosts (and TLS names) */
  readonly virtualServiceHosts?: readonly string[];
  /** HTTP port of the gateway's server. @default 80 */
  readonly port?: number;
  /** HTTPS through cert-manager. @default - HTTP only */
  readonly tls?: IngressTls;
}

/** A path rule: `{ exact: '/login' }` or `{ prefix: '/static' }`. */
export type PathMatch = { readonly exact: string } | { readonly prefix: string };

/** Options of {@link IngressGateway.route}. */
export interface IngressRouteOptions {
  /** Paths sent to the App (OR). @default - every path */
  readonly paths?: readonly PathMatch[];
  /** Where they go: an App (or any workload with a Service). */
  readonly to: IMeshPeer &
    IWorkload & { readonly port: number; readonly host: string; readonly fqdn: string };
  /** Service port. @default - the App's port */
  readonly port?: number;
}

const schema = z.strictObject({
  name: dnsLabel,
  virtualServiceName: dnsLabel.optional(),
  hosts: z.array(z.string().min(1)).min(1).default(['*']),
  virtualServiceHosts: z.array(z.string().min(1)).min(1).optional(),
  port: portNumber.default(80),
  tls: z
    .strictObject({
      dnsNames: z.array(z.string().min(1)).min(1, 'a certificate needs at least one DNS name'),
      issuer: z.strictObject({
        name: z.string().min(1),
        kind: z.enum(['ClusterIssuer', 'Issuer']).optional(),
      }),
      port: portNumber.optional(),
      credentialName: dnsLabel.optional(),
      httpsRedirect: z.boolean().optional(),
    })
    .optional(),
});

const pathSchema = z.array(
  z.union(
    [
      z.strictObject({ exact: z.string().startsWith('/') }),
      z.strictObject({ prefix: z.string().startsWith('/') }),
    ],
    {
      error: 'a path is { exact: "/…" } or { prefix: "/…" }',
    },
  ),
);

/**
 * An Istio ingress Gateway for hosts and ports, and the VirtualService that binds host and path
 * rules to Apps. With `tls`, a cert-manager Certificate whose secret the Gateway references by
 * `credentialName` (created in the ingress gateway's namespace, where Envoy reads it).
 */
export class IngressGateway extends Construct {
  readonly name: string;
  readonly gateway: networking.Gateway;
  readonly virtualService: networking.VirtualService;
  readonly certificate: certmanager.Certificate | undefined;
  /** The ingress gateway as a caller (its SPIFFE principal), for policies. */
  readonly peer: IngressGatewayPeer;
  private readonly http: networking.VirtualServiceSpecHttp[] = [];
  private readonly mesh: Mesh;

  constructor(scope: Construct, id: string, props: IngressGatewayProps = {}) {
    super(scope, id);
    const p = checkProps(this, schema, { ...props, name: props.name ?? id });
    this.mesh = Mesh.of(this);
    this.name = p.name;
    const ns = this.mesh.namespace;
    const gw = this.mesh.ingressGateway;
    this.peer = {
      name: 'istio-ingressgateway',
      namespace: gw.namespace,
      serviceAccountName: gw.serviceAccountName,
      principal: this.mesh.principalOf(gw.namespace, gw.serviceAccountName),
      isIngressGateway: true,
    };

    const servers: networking.GatewaySpecServers[] = [
      {
        port: { number: p.port, name: 'http', protocol: 'HTTP' },
        hosts: [...p.hosts],
        ...(p.tls?.httpsRedirect ? { tls: { httpsRedirect: true } } : {}),
      },
    ];
    if (p.tls) {
      const credentialName = p.tls.credentialName ?? `${this.name}-cert`;
      this.certificate = new certmanager.Certificate(this, 'Certificate', {
        metadata: { name: credentialName, namespace: gw.namespace },
        spec: {
          secretName: credentialName,
          dnsNames: [...p.tls.dnsNames],
          issuerRef: {
            name: p.tls.issuer.name,
            kind: p.tls.issuer.kind ?? 'ClusterIssuer',
            group: 'cert-manager.io',
          },
        },
      });
      servers.push({
        port: { number: p.tls.port ?? 443, name: 'https', protocol: 'HTTPS' },
        hosts: [...p.tls.dnsNames],
        tls: { mode: networking.GatewaySpecServersTlsMode.SIMPLE, credentialName },
      });
    }
    this.gateway = new networking.Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: ns },
      spec: { selector: { ...gw.selector }, servers },
    });
    const hosts = p.virtualServiceHosts ?? [...new Set([...p.hosts, ...(p.tls?.dnsNames ?? [])])];
    this.virtualService = new networking.VirtualService(this, 'VirtualService', {
      metadata: { name: p.virtualServiceName ?? this.name, namespace: ns },
      spec: { hosts, gateways: [this.name], http: this.http },
    });
    // Istio refuses a VirtualService without routes: say so at synth, with this construct's path.
    this.node.addValidation({
      validate: () =>
        this.http.length
          ? []
          : [`IngressGateway ${this.name} routes nothing: add a rule with route({ paths, to: app })`],
    });
  }

  /**
   * Sends the given paths (or everything) to an App. Rules are matched in the order added. The
   * gateway becomes a caller of the App in the mesh's call graph.
   */
  route(options: IngressRouteOptions): void {
    const index = this.http.length;
    const paths = checkProps(this, pathSchema, options.paths ?? [], `routes[${index}].paths`);
    if (options.port !== undefined) checkProps(this, portNumber, options.port, `routes[${index}].port`);
    const to = options.to;
    const host = to.namespace === this.mesh.namespace ? to.host : to.fqdn;
    this.http.push({
      ...(paths.length ? { match: paths.map((uri) => renderMatch({ uri: uri as StringMatch })) } : {}),
      route: [{ destination: { host, port: { number: options.port ?? to.port } } }],
    });
    this.mesh._recordCall({ from: this.peer, to });
  }
}
