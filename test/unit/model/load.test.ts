/**
 * buildModel keeps Istio fields as the YAML writes them. The model's Istio types come from the
 * generated interfaces in imports/, whose TypeScript names differ from the YAML keys in two places
 * (mirrorPercent, consecutive5XxErrors): these tests read those fields by their YAML keys, so the
 * type check fails if the model's types drift back to the generated names.
 */
import { parseYamlObjects } from '../../../mesh/model/yaml.js';
import {
  buildModel,
  type HttpRoute,
  type OutlierDetection,
  type Workload,
} from '../../../mesh/model/index.js';

const yaml = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - name: primary
      mirror: { host: reviews, subset: shadow }
      mirror_percent: 20
      route:
        - destination: { host: reviews, subset: v1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    outlierDetection: { consecutive5xxErrors: 3 }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy:
        portLevelSettings:
          - port: { number: 9080 }
            outlierDetection: { consecutive5xxErrors: 1 }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec:
  mtls: { mode: STRICT }
  portLevelMtls:
    "9080": { mode: PERMISSIVE }
`;

describe('buildModel reads Istio fields by their YAML keys', () => {
  const model = buildModel(parseYamlObjects(yaml, 'mesh.yaml').objects);

  test('a VirtualService route keeps mirror_percent', () => {
    const route: HttpRoute = model.virtualServices[0]!.http[0]!;
    expect(route.mirror_percent).toBe(20);
    expect(route.mirror).toStrictEqual({ host: 'reviews', subset: 'shadow' });
  });

  test('a DestinationRule keeps consecutive5xxErrors, at the rule and at a subset port', () => {
    const dr = model.destinationRules[0]!;
    const rule: OutlierDetection | undefined = dr.trafficPolicy?.outlierDetection;
    expect(rule?.consecutive5xxErrors).toBe(3);
    expect(dr.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
    const port = dr.subsets[0]!.trafficPolicy?.portLevelSettings?.[0];
    expect(port?.outlierDetection?.consecutive5xxErrors).toBe(1);
  });

  test('PeerAuthentication modes are the generated enum values', () => {
    const pa = model.peerAuthentications[0]!;
    expect([pa.mode, pa.portLevelMtls['9080']]).toStrictEqual(['STRICT', 'PERMISSIVE']);
  });
});

describe('the kinds of egress and telemetry, the mesh config, and objects given twice', () => {
  const text = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec:
  egress: [{ hosts: ["./*", "istio-system/*"] }]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: legacy-db, namespace: shop }
spec:
  address: 10.1.2.3
  labels: { app: legacy-db }
  serviceAccount: legacy
  ports: { tcp-postgres: 5432 }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: logs, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  accessLogging: [{ providers: [{ name: envoy }] }, { disabled: true }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    outboundTrafficPolicy: { mode: REGISTRY_ONLY }
    defaultConfig: { proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } }
    defaultProviders: { accessLogging: [envoy] }
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: { name: web, namespace: shop }
    spec: { template: { metadata: { labels: { app: web, version: v1 } } } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec: { template: { metadata: { labels: { app: web, version: v2 } } } }
`;
  const model = buildModel(parseYamlObjects(text, 'mesh.yaml').objects);

  test('Sidecar, WorkloadEntry and Telemetry are read, not skipped', () => {
    expect(model.skipped).toEqual([]);
    expect(model.sidecars.map((s) => [s.name, s.selector, s.egressHosts, s.outboundTrafficPolicy])).toEqual([
      ['default', undefined, ['./*', 'istio-system/*'], 'REGISTRY_ONLY'],
    ]);
    expect(
      model.workloadEntries.map((w) => [w.address, w.endpointLabels, w.serviceAccount, w.ports]),
    ).toEqual([['10.1.2.3', { app: 'legacy-db' }, 'legacy', { 'tcp-postgres': 5432 }]]);
    expect(model.telemetries.map((t) => [t.selector, t.accessLogging])).toEqual([
      [
        { app: 'web' },
        [
          { providers: ['envoy'], disabled: false },
          { providers: [], disabled: true },
        ],
      ],
    ]);
  });

  test("the root namespace's istio ConfigMap is the mesh config; without it, Istio's defaults", () => {
    expect(model.meshConfig).toEqual({
      outboundTrafficPolicy: 'REGISTRY_ONLY',
      proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' },
      defaultAccessLogging: ['envoy'],
      where: 'mesh.yaml:ConfigMap/istio:25',
    });
    expect(buildModel([]).meshConfig).toEqual({
      outboundTrafficPolicy: 'ALLOW_ANY',
      proxyMetadata: {},
      defaultAccessLogging: [],
    });
    expect(buildModel([], { outboundTrafficPolicy: 'REGISTRY_ONLY' }).meshConfig.outboundTrafficPolicy).toBe(
      'REGISTRY_ONLY',
    );
  });

  test('an object given twice (here once inside a List) is one object, the last, with both places', () => {
    expect(model.workloads.map((w) => [w.name, w.podLabels.version])).toEqual([['web', 'v2']]);
    expect(
      model.duplicates.map((d) => [d.kind, d.namespace, d.name, d.places, (d.kept as Workload).podLabels]),
    ).toEqual([
      [
        'Deployment',
        'shop',
        'web',
        ['mesh.yaml:Deployment/web:34', 'mesh.yaml:Deployment/web:42'],
        { app: 'web', version: 'v2' },
      ],
    ]);
  });
});

describe('a CanaryRelease that owns its VirtualService', () => {
  const release = (weights: [number, number]) => `
apiVersion: delivery.cdk8s-mesh.io/v1alpha1
kind: CanaryRelease
metadata: { name: reviews, namespace: shop }
spec:
  service: reviews
  stable: { subset: v1 }
  canary: { subset: v2 }
  stepWeight: 10
  maxWeight: 50
  virtualService:
    name: reviews
    route: primary
    template:
      metadata: { labels: { app: reviews } }
      spec:
        hosts: [reviews]
        http:
          - name: primary
            route:
              - { destination: { host: reviews, subset: v1 }, weight: ${weights[0]} }
              - { destination: { host: reviews, subset: v2 }, weight: ${weights[1]} }
`;
  const weightsOf = (m: ReturnType<typeof buildModel>) =>
    m.virtualServices.map(
      (v) =>
        `${v.name}: ${v.http
          .flatMap((r) => r.route ?? [])
          .map((d) => d.weight)
          .join('/')}`,
    );

  test('the manifests’ template is read as the VirtualService it becomes, with its labels', () => {
    const m = buildModel(parseYamlObjects(release([100, 0]), 'dist/shop.k8s.yaml').objects);
    expect(weightsOf(m)).toStrictEqual(['reviews: 100/0']);
    expect(m.virtualServices[0]!.namespace).toBe('shop');
    expect(m.virtualServices[0]!.labels).toStrictEqual({ app: 'reviews' });
  });

  test('where the VirtualService itself is there too (a live cluster), it is read, with the weights the release set', () => {
    const live = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - name: primary
      route:
        - { destination: { host: reviews, subset: v1 }, weight: 60 }
        - { destination: { host: reviews, subset: v2 }, weight: 40 }
`;
    for (const text of [`${release([100, 0])}---${live}`, `${live}---${release([100, 0])}`]) {
      const m = buildModel(parseYamlObjects(text, 'cluster').objects);
      expect(weightsOf(m)).toStrictEqual(['reviews: 60/40']);
    }
  });
});

describe('a CanaryRelease that owns its HTTPRoute or GRPCRoute', () => {
  const release = (field: 'httpRoute' | 'grpcRoute', weights: [number, number]) => `
apiVersion: delivery.cdk8s-mesh.io/v1alpha1
kind: CanaryRelease
metadata: { name: reviews, namespace: shop }
spec:
  service: reviews
  stable: { subset: v1 }
  canary: { subset: v2 }
  stepWeight: 10
  maxWeight: 50
  ${field}:
    name: reviews
    rule: primary
    template:
      metadata: { labels: { app: reviews } }
      spec:
        parentRefs: [{ group: '', kind: Service, name: reviews, port: 9080 }]
        rules:
          - name: primary
            backendRefs:
              - { name: reviews-v1, port: 9080, weight: ${weights[0]} }
              - { name: reviews-v2, port: 9080, weight: ${weights[1]} }
`;
  const weightsOf = (m: ReturnType<typeof buildModel>) =>
    m.gatewayApiRoutes.map(
      (r) =>
        `${r.kind} ${r.namespace}/${r.name}: ${r.rules
          .flatMap((x) => (x as { backendRefs?: { weight?: number }[] }).backendRefs ?? [])
          .map((b) => b.weight)
          .join('/')}`,
    );

  test('the manifests’ template is read as the route it becomes, of the kind the field names, with its labels', () => {
    const http = buildModel(parseYamlObjects(release('httpRoute', [100, 0]), 'dist/shop.k8s.yaml').objects);
    expect(weightsOf(http)).toStrictEqual(['HTTPRoute shop/reviews: 100/0']);
    expect(http.gatewayApiRoutes[0]!.labels).toStrictEqual({ app: 'reviews' });
    expect(http.invalid).toStrictEqual([]);
    const grpc = buildModel(parseYamlObjects(release('grpcRoute', [100, 0]), 'dist/shop.k8s.yaml').objects);
    expect(weightsOf(grpc)).toStrictEqual(['GRPCRoute shop/reviews: 100/0']);
  });

  test('where the route itself is there too (a live cluster), it is read, with the weights the release set', () => {
    const live = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews, namespace: shop }
spec:
  parentRefs: [{ group: '', kind: Service, name: reviews, port: 9080 }]
  rules:
    - name: primary
      backendRefs:
        - { name: reviews-v1, port: 9080, weight: 60 }
        - { name: reviews-v2, port: 9080, weight: 40 }
`;
    for (const text of [
      `${release('httpRoute', [100, 0])}---${live}`,
      `${live}---${release('httpRoute', [100, 0])}`,
    ]) {
      const m = buildModel(parseYamlObjects(text, 'cluster').objects);
      expect(weightsOf(m)).toStrictEqual(['HTTPRoute shop/reviews: 60/40']);
    }
  });
});
