/** A small, clean mesh as plain objects, and builders for the Istio objects rule tests add to it. */
import type { KubeObject } from '../../../mesh/model/index.js';

type Spec = Record<string, unknown>;
const istio =
  (group: string, kind: string, version = 'v1') =>
  (name: string, spec: Spec, extra: Spec = {}): KubeObject => ({
    apiVersion: `${group}.istio.io/${version}`,
    kind,
    metadata: { name, namespace: 'default', ...extra },
    spec,
  });
export const vs = istio('networking', 'VirtualService');
export const dr = istio('networking', 'DestinationRule');
export const gw = istio('networking', 'Gateway');
export const se = istio('networking', 'ServiceEntry');
export const ef = istio('networking', 'EnvoyFilter', 'v1alpha3');
export const pa = istio('security', 'PeerAuthentication');
export const ap = istio('security', 'AuthorizationPolicy');
export const sc = istio('networking', 'Sidecar');
export const tm = istio('telemetry', 'Telemetry');

/** Istio's default ingress gateway: its pods in the root namespace, and its Service (80 → 8080, 443 → 8443). */
export function ingressGateway(): KubeObject[] {
  const labels = { istio: 'ingressgateway', app: 'istio-ingressgateway' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'istio-proxy', image: 'istio/proxyv2:1.30.3' }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' },
      spec: {
        selector: labels,
        ports: [
          { name: 'http2', port: 80, targetPort: 8080 },
          { name: 'https', port: 443, targetPort: 8443 },
        ],
      },
    },
  ];
}

export function service(name: string, port = 9080, portName = 'http'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: portName, port, targetPort: port }] },
  };
}

export function deployment(
  app: string,
  version: string,
  opts: { sa?: string; port?: number; inject?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${app}-${version}`, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app, version } },
      template: {
        metadata: {
          labels: { app, version },
          ...(opts.inject === false ? { annotations: { 'sidecar.istio.io/inject': 'false' } } : {}),
        },
        spec: {
          serviceAccountName: opts.sa ?? `bookinfo-${app}`,
          containers: [
            { name: app, image: `${app}:${version}`, ports: [{ containerPort: opts.port ?? 9080 }] },
          ],
        },
      },
    },
  };
}

const sa = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: 'default' },
});

/** productpage → reviews (v1, v2) → ratings; injected namespace; one DestinationRule per service. */
export function baseMesh(): KubeObject[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default', labels: { 'istio-injection': 'enabled' } },
    },
    ...['productpage', 'reviews', 'ratings'].flatMap((a) => [service(a), sa(`bookinfo-${a}`)]),
    deployment('productpage', 'v1'),
    deployment('reviews', 'v1'),
    deployment('reviews', 'v2'),
    deployment('ratings', 'v1'),
    dr('reviews', {
      host: 'reviews',
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    }),
    dr('ratings', { host: 'ratings', subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
  ];
}

export const principal = (sa: string, ns = 'default') => `cluster.local/ns/${ns}/sa/${sa}`;
