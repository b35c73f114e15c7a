import { Construct } from 'constructs';
import { z } from 'zod';
import * as certmanager from '../imports/cert-manager.io.js';
import * as gatewayapi from '../imports/gateway.networking.k8s.io.js';
import * as networking from '../imports/networking.istio.io.js';
import { pathMatch } from './gateway-api-routes.js';
import { Mesh } from './mesh.js';
import type { IMeshPeer, IWorkload } from './peer.js';
import { renderMatch, type StringMatch } from './routing.js';
import { checkProps, dnsLabel, MeshPropsError, portNumber } from './validation.js';
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
 *
 * With the mesh's `trafficApi: 'gateway-api'`: a Gateway API `Gateway` of class `istio` (Istio
 * deploys its proxy, ServiceAccount `<name>-istio`, in the mesh's namespace) with an `http`
 * listener (and `https` with `tls`, its certificate in the mesh's namespace), and an HTTPRoute
 * attached to it; `httpsRedirect` is a second HTTPRoute on the `http` listener that redirects.
 */
export class IngressGateway extends Construct {
  readonly name: string;
  /** The Istio Gateway, or the Gateway API Gateway (class `istio`). */
  readonly gateway: networking.Gateway | gatewayapi.Gateway;
  /** The VirtualService binding routes to the Gateway (Istio traffic API). */
  readonly virtualService: networking.VirtualService | undefined;
  /** The HTTPRoute attached to the Gateway (Gateway API). */
  readonly httpRoute: gatewayapi.HttpRoute | undefined;
  readonly certificate: certmanager.Certificate | undefined;
  /** The ingress gateway as a caller (its SPIFFE principal), for policies. */
  readonly peer: IngressGatewayPeer;
  private readonly http: networking.VirtualServiceSpecHttp[] = [];
  private readonly rules: gatewayapi.HttpRouteSpecRules[] = [];
  private readonly mesh: Mesh;

  constructor(scope: Construct, id: string, props: IngressGatewayProps = {}) {
    super(scope, id);
    const p = checkProps(this, schema, { ...props, name: props.name ?? id });
    this.mesh = Mesh.of(this);
    this.name = p.name;
    const ns = this.mesh.namespace;
    // Istio refuses a route set without routes: say so at synth, with this construct's path.
    this.node.addValidation({
      validate: () =>
        this.http.length || this.rules.length
          ? []
          : [`IngressGateway ${this.name} routes nothing: add a rule with route({ paths, to: app })`],
    });
    if (this.mesh.trafficApi === 'gateway-api') {
      // Istio names the Deployment and ServiceAccount of a class `istio` Gateway `<name>-istio`.
      const sa = `${this.name}-istio`;
      this.peer = {
        name: sa,
        namespace: ns,
        serviceAccountName: sa,
        principal: this.mesh.principalOf(ns, sa),
        isIngressGateway: true,
      };
      const built = this.buildGatewayApi(p);
      this.gateway = built.gateway;
      this.httpRoute = built.route;
      this.certificate = built.certificate;
      this.virtualService = undefined;
      return;
    }
    this.httpRoute = undefined;
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
  }

  /** The Gateway API form: Gateway of class `istio`, its certificate, the HTTPRoute(s). */
  private buildGatewayApi(p: z.output<typeof schema>) {
    const ns = this.mesh.namespace;
    const hostnames = p.hosts.filter((h) => h !== '*');
    const listeners: gatewayapi.GatewaySpecListeners[] = [{ name: 'http', port: p.port, protocol: 'HTTP' }];
    let certificate: certmanager.Certificate | undefined;
    if (p.tls) {
      // The Gateway reads its certificate from its own namespace.
      const credentialName = p.tls.credentialName ?? `${this.name}-cert`;
      certificate = new certmanager.Certificate(this, 'Certificate', {
        metadata: { name: credentialName, namespace: ns },
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
      listeners.push({
        name: 'https',
        port: p.tls.port ?? 443,
        protocol: 'HTTPS',
        tls: {
          mode: gatewayapi.GatewaySpecListenersTlsMode.TERMINATE,
          certificateRefs: [{ kind: 'Secret', group: '', name: credentialName }],
        },
      });
    }
    const gateway = new gatewayapi.Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: ns },
      spec: { gatewayClassName: 'istio', listeners },
    });
    const parent = (sectionName?: string) => ({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      name: this.name,
      ...(sectionName ? { sectionName } : {}),
    });
    const routeHosts = p.virtualServiceHosts ?? [...new Set([...hostnames, ...(p.tls?.dnsNames ?? [])])];
    const hosts = routeHosts.filter((h) => h !== '*');
    const route = new gatewayapi.HttpRoute(this, 'HTTPRoute', {
      metadata: { name: p.virtualServiceName ?? this.name, namespace: ns },
      spec: {
        parentRefs: p.tls?.httpsRedirect ? [parent('https')] : [parent()],
        ...(hosts.length ? { hostnames: hosts } : {}),
        rules: this.rules,
      },
    });
    if (p.tls?.httpsRedirect) {
      new gatewayapi.HttpRoute(this, 'Redirect', {
        metadata: { name: `${this.name}-https-redirect`, namespace: ns },
        spec: {
          parentRefs: [parent('http')],
          ...(hosts.length ? { hostnames: hosts } : {}),
          rules: [
            {
              filters: [
                {
                  type: gatewayapi.HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
                  requestRedirect: {
                    scheme: gatewayapi.HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS,
                    statusCode: 301,
                    ...(p.tls.port && p.tls.port !== 443 ? { port: p.tls.port } : {}),
                  },
                },
              ],
            },
          ],
        },
      });
    }
    return { gateway, route, certificate };
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
    if (this.mesh.trafficApi === 'gateway-api') {
      if (to.namespace !== this.mesh.namespace) {
        throw new MeshPropsError(this.node.path, [
          {
            field: `routes[${index}].to`,
            message: `${to.name} is in namespace ${to.namespace}: an HTTPRoute's backend in another namespace needs a ReferenceGrant there, which this construct does not create; route to an App of namespace ${this.mesh.namespace}`,
          },
        ]);
      }
      this.rules.push({
        ...(paths.length ? { matches: paths.map((uri) => ({ path: pathMatch(uri as StringMatch) })) } : {}),
        backendRefs: [{ name: to.name, port: options.port ?? to.port }],
      } as gatewayapi.HttpRouteSpecRules);
      this.mesh._recordCall({ from: this.peer, to });
      return;
    }
    const host = to.namespace === this.mesh.namespace ? to.host : to.fqdn;
    this.http.push({
      ...(paths.length ? { match: paths.map((uri) => renderMatch({ uri: uri as StringMatch })) } : {}),
      route: [{ destination: { host, port: { number: options.port ?? to.port } } }],
    });
    this.mesh._recordCall({ from: this.peer, to });
  }
}
