import { Construct } from 'constructs';
import * as gatewayapi from '../imports/gateway.networking.k8s.io.js';
import { meshOf } from './mesh-scope.js';
import { checkProps, dnsLabel } from './validation.js';

/** The HBONE port ztunnel sends a waypoint's traffic to. */
export const HBONE_PORT = 15008;

export interface WaypointProps {
  /** Name of the Gateway (and of the waypoint's Deployment and ServiceAccount). @default 'waypoint' */
  readonly name?: string;
}

/**
 * An ambient waypoint proxy for the mesh's namespace: a Gateway API `Gateway` of class
 * `istio-waypoint` with Istio's `mesh` listener (HBONE on 15008), serving Services
 * (`istio.io/waypoint-for: service`). Istio deploys it with a ServiceAccount of the same name, so
 * its SPIFFE principal is `<trustDomain>/ns/<namespace>/sa/<name>`.
 * @see https://istio.io/latest/docs/ambient/usage/waypoint/
 */
export class Waypoint extends Construct {
  readonly name: string;
  readonly namespace: string;
  /** The waypoint's SPIFFE principal (the caller a destination's ztunnel sees). */
  readonly principal: string;
  readonly gateway: gatewayapi.Gateway;

  constructor(scope: Construct, id: string, props: WaypointProps = {}) {
    super(scope, id);
    const mesh = meshOf(this);
    this.name = checkProps(this, dnsLabel, props.name ?? 'waypoint', 'name');
    this.namespace = mesh.namespace;
    this.principal = mesh.principalOf(this.namespace, this.name);
    this.gateway = new gatewayapi.Gateway(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'istio.io/waypoint-for': 'service' },
      },
      spec: {
        gatewayClassName: 'istio-waypoint',
        listeners: [{ name: 'mesh', port: HBONE_PORT, protocol: 'HBONE' }],
      },
    });
  }
}
