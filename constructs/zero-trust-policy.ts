import { Construct } from 'constructs';
import { z } from 'zod';
import * as security from '../imports/security.istio.io.js';
import { meshOf, type IMesh, type MeshCall, type MtlsMode } from './mesh-scope.js';
import type { ICallee, IMeshPeer, IWorkload } from './peer.js';
import { checkProps, MeshPropsError, portNumber } from './validation.js';

export interface ZeroTrustPolicyProps {
  /** Namespace-wide mutual TLS (a PeerAuthentication named `default`). @default 'STRICT' */
  readonly mtls?: MtlsMode;
  /** Deny every request that no ALLOW policy permits (an `allow-nothing` AuthorizationPolicy, `spec: {}`). @default true */
  readonly allowNothing?: boolean;
  /** Allow the ingress gateway's principal to reach the Apps an IngressGateway routes to. @default true */
  readonly allowIngressGateway?: boolean;
}

/** Options of {@link ZeroTrustPolicy.allowFromAnyone}. */
export interface OpenAccessOptions {
  /** HTTP methods allowed. @default - any */
  readonly methods?: readonly string[];
  /** Paths allowed. @default - any */
  readonly paths?: readonly string[];
}

/**
 * Options of {@link ZeroTrustPolicy.allowOutsideMesh}: a caller without a sidecar has no principal, so
 * the narrowest Istio can allow it is by source address, port and (for HTTP) method and path.
 */
export interface OutsideMeshAccessOptions {
  /** Source addresses of the caller, IPs or CIDR blocks (AuthorizationPolicy `source.ipBlocks`). */
  readonly ipBlocks: readonly string[];
  /** Service ports of the target it may reach. @default - every port of the target */
  readonly ports?: readonly number[];
  /** HTTP methods allowed. @default - any */
  readonly methods?: readonly string[];
  /** Paths allowed. @default - any */
  readonly paths?: readonly string[];
}

const IP_BLOCK =
  /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\/([0-9]|[12][0-9]|3[0-2]))?$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/[0-9]{1,3})?$/;
const outsideSchema = z.strictObject({
  ipBlocks: z
    .array(z.string().regex(IP_BLOCK, 'must be an IP address or CIDR block such as 10.0.5.0/24'))
    .min(1, 'name the caller by address: without a sidecar it has no principal'),
  ports: z.array(portNumber).min(1).optional(),
  methods: z
    .array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case HTTP method'))
    .min(1)
    .optional(),
  paths: z.array(z.string().min(1)).min(1).optional(),
});

const schema = z.strictObject({
  mtls: z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']).default('STRICT'),
  allowNothing: z.boolean().default(true),
  allowIngressGateway: z.boolean().default(true),
});

interface Rule {
  principals: string[] | undefined;
  ipBlocks?: string[];
  to: { methods?: string[]; paths?: string[]; ports?: string[] } | undefined;
}

/**
 * Zero trust for a mesh: STRICT mTLS, `allow-nothing`, and one ALLOW AuthorizationPolicy per
 * callee (`<app>-viewer`) derived from the declared call graph: `productpage.calls(reviews,
 * { methods: ['GET'] })` allows the principal `<trustDomain>/ns/<ns>/sa/<sa>` of productpage to
 * GET on reviews. Calls declared before or after the policy is created are both honoured.
 *
 * In ambient mode without a waypoint the policies select pods and ztunnel enforces them: L4 only
 * (principals); a rule with methods or paths is refused, since ztunnel would enforce it as DENY.
 * With the namespace's waypoint, every caller passes through it, so the ALLOW rules attach to the
 * callee's Service (`targetRefs`) and the waypoint enforces them, L7 included; `allow-nothing`
 * also targets the waypoint; and per callee an L4 policy (`<app>-via-waypoint`, enforced by
 * ztunnel) admits only the waypoint's principal, so no caller can bypass the waypoint.
 */
export class ZeroTrustPolicy extends Construct {
  readonly mesh: IMesh;
  readonly peerAuthentication: security.PeerAuthentication | undefined;
  readonly allowNothing: security.AuthorizationPolicy | undefined;
  private readonly allowIngress: boolean;
  private readonly policies = new Map<
    string,
    { policy: security.AuthorizationPolicy; rules: Rule[]; spec: { rules: unknown[] } }
  >();

  constructor(scope: Construct, id: string, props: ZeroTrustPolicyProps = {}) {
    super(scope, id);
    const p = checkProps(this, schema, props);
    this.mesh = meshOf(this);
    if (this.mesh.dataPlane === 'ambient' && p.mtls === 'DISABLE') {
      throw new MeshPropsError(this.node.path, [
        {
          field: 'mtls',
          message:
            "PeerAuthentication DISABLE is incompatible with ambient mode: ztunnel always sends mTLS (HBONE) between ambient pods; use 'PERMISSIVE'",
          received: '"DISABLE"',
        },
      ]);
    }
    this.mesh._registerZeroTrust(this);
    this.allowIngress = p.allowIngressGateway;
    const ns = this.mesh.namespace;
    this.peerAuthentication = new security.PeerAuthentication(this, 'Resource', {
      metadata: { name: 'default', namespace: ns },
      spec: { mtls: { mode: security.PeerAuthenticationSpecMtlsMode[p.mtls] } },
    });
    if (p.allowNothing) {
      this.allowNothing = new security.AuthorizationPolicy(this, 'AllowNothing', {
        metadata: { name: 'allow-nothing', namespace: ns },
        spec: {},
      });
      // A waypoint enforces only the policies that target it (or its Services).
      if (this.mesh.waypointName) {
        new security.AuthorizationPolicy(this, 'AllowNothingWaypoint', {
          metadata: { name: 'allow-nothing-waypoint', namespace: ns },
          spec: { targetRefs: [waypointRef(this.mesh.waypointName)] },
        });
      }
    }
    this.mesh._onCall((call) => this.onCall(call));
  }

  /** The ALLOW policy derived for a callee, if any call to it was declared. */
  policyFor(callee: IWorkload): security.AuthorizationPolicy | undefined {
    return this.policies.get(`${callee.namespace}/${callee.name}`)?.policy;
  }

  /**
   * Allows requests from any source (no `from`) to `target`, for the given methods and paths:
   * how a public entry point such as productpage is opened behind `allow-nothing`.
   */
  allowFromAnyone(target: IWorkload, options: OpenAccessOptions = {}): security.AuthorizationPolicy {
    return this.addRule(target, undefined, options.methods, options.paths);
  }

  /**
   * Allows a caller outside the mesh (no sidecar, so no principal) to reach one workload, as narrowly
   * as Istio can say it: from its addresses (`ipBlocks`), on the given ports, methods and paths. It
   * also accepts plain text on those ports of that workload only (a PeerAuthentication with
   * `portLevelMtls: PERMISSIVE`), since the caller cannot do mTLS; every other workload stays STRICT
   * and no other caller is opened up, unlike {@link allowFromAnyone}.
   */
  allowOutsideMesh(
    target: ICallee,
    options: OutsideMeshAccessOptions,
  ): { policy: security.AuthorizationPolicy; peerAuthentication: security.PeerAuthentication } {
    const field = `allowOutsideMesh(${target.name})`;
    const o = checkProps(this, outsideSchema, options, field);
    const ports = (o.ports ?? target.ports.map((p) => p.port)).map((n) => {
      const p = target.ports.find((q) => q.port === n);
      if (!p)
        throw new MeshPropsError(this.node.path, [
          {
            field: `${field}.ports`,
            message: `${target.name} has no Service port ${n} (its ports: ${target.ports.map((q) => q.port).join(', ')})`,
            received: JSON.stringify(o.ports),
          },
        ]);
      return p.targetPort;
    });
    const id = `Outside-${target.namespace}-${target.name}`;
    if (this.node.tryFindChild(id))
      throw new Error(
        `${this.node.path}: ${target.name} already allows callers outside the mesh; give every address in one allowOutsideMesh call`,
      );
    const policy = this.addRule(target, undefined, o.methods, o.paths, ports, o.ipBlocks);
    const peerAuthentication = new security.PeerAuthentication(this, id, {
      metadata: { name: `${target.name}-outside-mesh`, namespace: target.namespace },
      spec: {
        selector: { matchLabels: { ...target.selector } },
        portLevelMtls: Object.fromEntries(
          [...new Set(ports)].map((port) => [
            port,
            { mode: security.PeerAuthenticationSpecPortLevelMtlsMode.PERMISSIVE },
          ]),
        ),
      },
    });
    return { policy, peerAuthentication };
  }

  /**
   * A port-level mTLS exception for one workload: a PeerAuthentication with `selector` and
   * `portLevelMtls: { <port>: { mode } }` (the port is the container port).
   */
  addPortException(
    target: IWorkload,
    port: number,
    mode: MtlsMode = 'DISABLE',
    name = `${target.name}-port-${port}-mtls`,
  ): security.PeerAuthentication {
    checkProps(this, portNumber, port, `portException(${target.name}).port`);
    if (this.mesh.dataPlane === 'ambient' && mode === 'DISABLE') {
      throw new MeshPropsError(this.node.path, [
        {
          field: `portException(${target.name}).mode`,
          message:
            "a port-level DISABLE is incompatible with ambient mode: ztunnel always sends mTLS (HBONE) between ambient pods; use 'PERMISSIVE' to accept plain text on the port",
          received: '"DISABLE"',
        },
      ]);
    }
    if (this.node.tryFindChild(`PortException-${target.name}-${port}`)) {
      throw new Error(
        `${this.node.path}: ${target.name} already has a port-level mTLS exception on port ${port}; declare each port once`,
      );
    }
    return new security.PeerAuthentication(this, `PortException-${target.name}-${port}`, {
      metadata: { name, namespace: target.namespace },
      spec: {
        selector: { matchLabels: { ...target.selector } },
        portLevelMtls: { [port]: { mode: security.PeerAuthenticationSpecPortLevelMtlsMode[mode] } },
      },
    });
  }

  private onCall(call: MeshCall): void {
    if (!this.allowIngress && isIngressGateway(call.from)) return;
    this.addRule(call.to, call.from, call.methods, call.paths, call.ports);
  }

  private addRule(
    target: IWorkload,
    from: IMeshPeer | undefined,
    methods: readonly string[] | undefined,
    paths: readonly string[] | undefined,
    ports?: readonly number[],
    ipBlocks?: readonly string[],
  ): security.AuthorizationPolicy {
    const key = `${target.namespace}/${target.name}`;
    const waypoint = this.mesh.waypointName;
    if (this.mesh.dataPlane === 'ambient' && !waypoint && (methods?.length || paths?.length)) {
      throw new MeshPropsError(this.node.path, [
        {
          field: `rules(${target.name})`,
          message: `methods and paths are L7: in ambient mode without a waypoint ztunnel enforces the policy on ${target.name} and would treat those rules as DENY; keep the Mesh's waypoint, or allow the call without methods and paths`,
          received: JSON.stringify({ methods, paths }),
        },
      ]);
    }
    let entry = this.policies.get(key);
    if (!entry) {
      const spec = { rules: [] as unknown[] };
      const policy = new security.AuthorizationPolicy(this, `Allow-${target.namespace}-${target.name}`, {
        metadata: { name: `${target.name}-viewer`, namespace: target.namespace },
        spec: {
          ...(waypoint
            ? { targetRefs: [{ group: '', kind: 'Service', name: target.name }] }
            : { selector: { matchLabels: { ...target.selector } } }),
          action: security.AuthorizationPolicySpecAction.ALLOW,
          rules: spec.rules as security.AuthorizationPolicySpecRules[],
        },
      });
      if (waypoint) {
        // ztunnel at the callee admits only the waypoint: callers cannot bypass it.
        new security.AuthorizationPolicy(this, `ViaWaypoint-${target.namespace}-${target.name}`, {
          metadata: { name: `${target.name}-via-waypoint`, namespace: target.namespace },
          spec: {
            selector: { matchLabels: { ...target.selector } },
            action: security.AuthorizationPolicySpecAction.ALLOW,
            rules: [
              { from: [{ source: { principals: [this.mesh.principalOf(this.mesh.namespace, waypoint)] } }] },
            ],
          },
        });
      }
      entry = { policy, rules: [], spec };
      this.policies.set(key, entry);
    }
    const to =
      methods?.length || paths?.length || ports?.length
        ? {
            ...(methods?.length ? { methods: [...methods] } : {}),
            ...(paths?.length ? { paths: [...paths] } : {}),
            ...(ports?.length ? { ports: [...new Set(ports)].map(String) } : {}),
          }
        : undefined;
    // Callers with the same operations share one rule; an open rule (no `from`) and a rule by
    // source address stand alone.
    const same = ipBlocks
      ? undefined
      : entry.rules.find(
          (r) =>
            !r.ipBlocks && sameOperations(r.to, to) && (r.principals === undefined) === (from === undefined),
        );
    if (same && from) {
      if (!same.principals!.includes(from.principal)) same.principals!.push(from.principal);
    } else if (!same) {
      entry.rules.push({
        principals: from ? [from.principal] : undefined,
        ...(ipBlocks ? { ipBlocks: [...ipBlocks] } : {}),
        to,
      });
    }
    entry.spec.rules.splice(
      0,
      entry.spec.rules.length,
      ...entry.rules.map((r) => ({
        ...(r.principals ? { from: [{ source: { principals: r.principals } }] } : {}),
        ...(r.ipBlocks ? { from: [{ source: { ipBlocks: r.ipBlocks } }] } : {}),
        ...(r.to ? { to: [{ operation: r.to }] } : {}),
      })),
    );
    return entry.policy;
  }
}

/** A policy's reference to the namespace's waypoint (a Gateway API Gateway). */
function waypointRef(name: string) {
  return { group: 'gateway.networking.k8s.io', kind: 'Gateway', name };
}

/** Peers that stand for the ingress gateway carry this marker. */
export interface IngressGatewayPeer extends IMeshPeer {
  readonly isIngressGateway: true;
}

function isIngressGateway(p: IMeshPeer): boolean {
  return (p as Partial<IngressGatewayPeer>).isIngressGateway === true;
}

/** Whether two rule operations allow the same methods and paths, in whatever order they were given. */
function sameOperations(a: Rule['to'], b: Rule['to']): boolean {
  const key = (o: Rule['to']) =>
    JSON.stringify({
      methods: [...(o?.methods ?? [])].sort(),
      paths: [...(o?.paths ?? [])].sort(),
      ports: [...(o?.ports ?? [])].sort(),
    });
  return key(a) === key(b);
}
