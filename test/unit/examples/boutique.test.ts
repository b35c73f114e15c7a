/**
 * The Online Boutique example equals upstream where upstream has a field: the facts below are read
 * from GoogleCloudPlatform/microservices-demo `release/kubernetes-manifests.yaml` (v0.2.0 images)
 * and `release/istio-manifests.yaml`. Beyond upstream: Pod Security `restricted`, a ServiceAccount
 * per workload, REGISTRY_ONLY egress, zero trust from the call graph.
 */
import { Testing } from 'cdk8s';
import { validator } from '../../../constructs/index.js';
import { boutique, boutiqueWithCanary } from '../../../examples/boutique/boutique.js';
import { one, type K8sObject } from '../constructs/helpers.js';
import { readFileSync } from 'node:fs';
import { BOUTIQUE_GRAPH_FILE, boutiqueGraph } from '../../../scripts/boutique-graph.js';

const { mesh } = boutique(Testing.app(), 'boutique');
const objs = Testing.synth(mesh) as K8sObject[];

type Svc = [
  name: string,
  port: number,
  targetPort: number,
  portName: string,
  requests: string,
  limits: string,
];
/** Upstream's Services and the resources of their Deployments (`cpu/memory`). */
const UPSTREAM: Svc[] = [
  ['emailservice', 5000, 8080, 'grpc', '100m/64Mi', '200m/128Mi'],
  ['checkoutservice', 5050, 5050, 'grpc', '100m/64Mi', '200m/128Mi'],
  ['recommendationservice', 8080, 8080, 'grpc', '100m/220Mi', '200m/450Mi'],
  ['frontend', 80, 8080, 'http', '100m/64Mi', '200m/128Mi'],
  ['paymentservice', 50051, 50051, 'grpc', '100m/64Mi', '200m/128Mi'],
  ['productcatalogservice', 3550, 3550, 'grpc', '100m/64Mi', '200m/128Mi'],
  ['cartservice', 7070, 7070, 'grpc', '200m/64Mi', '300m/128Mi'],
  ['currencyservice', 7000, 7000, 'grpc', '100m/64Mi', '200m/128Mi'],
  ['shippingservice', 50051, 50051, 'grpc', '100m/64Mi', '200m/128Mi'],
  // Upstream names the Redis port `redis`; ours says `tcp-redis` (Istio reads both as TCP).
  ['redis-cart', 6379, 6379, 'tcp-redis', '70m/200Mi', '125m/256Mi'],
  ['adservice', 9555, 9555, 'grpc', '200m/180Mi', '300m/300Mi'],
];
const quantities = (s: string) => {
  const [cpu, memory] = s.split('/');
  return { cpu, memory };
};
interface Container {
  name: string;
  image: string;
  env?: { name: string; value: string }[];
  resources: unknown;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  ports?: { containerPort: number }[];
}
const podSpec = (d: K8sObject) =>
  (d.spec!.template as { spec: { containers: Container[]; securityContext: Record<string, unknown> } }).spec;

describe('Online Boutique equals upstream where upstream sets a field', () => {
  test.each(UPSTREAM)(
    '%s: Service port %i → %i named %s, resources %s / %s',
    (name, port, target, portName, req, lim) => {
      expect((one(objs, 'Service', name).spec as { ports: unknown }).ports).toStrictEqual([
        { name: portName, port, targetPort: target },
      ]);
      const c = podSpec(one(objs, 'Deployment', `${name}-v1`)).containers[0]!;
      expect(c.resources).toStrictEqual({ requests: quantities(req), limits: quantities(lim) });
      expect(c.ports).toStrictEqual([{ containerPort: target }]);
      expect(c.image).toBe(
        name === 'redis-cart' ? 'redis:alpine' : `gcr.io/google-samples/microservices-demo/${name}:v0.2.0`,
      );
      expect(c.name).toBe(name === 'redis-cart' ? 'redis' : 'server');
    },
  );

  test('probes: grpc_health_probe in the container, HTTP /_healthz with its cookie, TCP for Redis', () => {
    const c = (n: string) => podSpec(one(objs, 'Deployment', `${n}-v1`)).containers[0]!;
    expect(c('cartservice').readinessProbe).toStrictEqual({
      exec: { command: ['/bin/grpc_health_probe', '-addr=:7070', '-rpc-timeout=5s'] },
      initialDelaySeconds: 15,
    });
    expect(c('cartservice').livenessProbe).toStrictEqual({
      exec: { command: ['/bin/grpc_health_probe', '-addr=:7070', '-rpc-timeout=5s'] },
      initialDelaySeconds: 15,
      periodSeconds: 10,
    });
    expect(c('adservice').readinessProbe).toStrictEqual({
      exec: { command: ['/bin/grpc_health_probe', '-addr=:9555'] },
      initialDelaySeconds: 20,
      periodSeconds: 15,
    });
    expect(c('frontend').readinessProbe).toStrictEqual({
      httpGet: {
        path: '/_healthz',
        port: 8080,
        httpHeaders: [{ name: 'Cookie', value: 'shop_session-id=x-readiness-probe' }],
      },
      initialDelaySeconds: 10,
    });
    expect(c('redis-cart').livenessProbe).toStrictEqual({ tcpSocket: { port: 6379 }, periodSeconds: 5 });
  });

  test('environment: the service addresses upstream wires', () => {
    const env = (n: string) =>
      Object.fromEntries(
        podSpec(one(objs, 'Deployment', `${n}-v1`)).containers[0]!.env!.map((e) => [e.name, e.value]),
      );
    expect(env('checkoutservice')).toStrictEqual({
      PORT: '5050',
      PRODUCT_CATALOG_SERVICE_ADDR: 'productcatalogservice:3550',
      SHIPPING_SERVICE_ADDR: 'shippingservice:50051',
      PAYMENT_SERVICE_ADDR: 'paymentservice:50051',
      EMAIL_SERVICE_ADDR: 'emailservice:5000',
      CURRENCY_SERVICE_ADDR: 'currencyservice:7000',
      CART_SERVICE_ADDR: 'cartservice:7070',
    });
    expect(env('cartservice')).toStrictEqual({
      REDIS_ADDR: 'redis-cart:6379',
      PORT: '7070',
      LISTEN_ADDR: '0.0.0.0',
    });
  });

  test('the load generator is a client-only workload: no Service, its own identity, upstream resources', () => {
    expect(objs.filter((o) => o.kind === 'Service' && o.metadata.name === 'loadgenerator')).toStrictEqual([]);
    const d = one(objs, 'Deployment', 'loadgenerator');
    const spec = podSpec(d);
    expect(spec.containers[0]!.resources).toStrictEqual({
      requests: { cpu: '300m', memory: '256Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    expect(spec.securityContext).toMatchObject({
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      runAsNonRoot: true,
    });
  });

  test('the ingress gateway and the external services of istio-manifests.yaml', () => {
    expect(one(objs, 'Gateway', 'frontend-gateway').spec).toStrictEqual({
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    });
    expect(one(objs, 'VirtualService', 'frontend-ingress').spec).toMatchObject({
      hosts: ['*'],
      gateways: ['frontend-gateway'],
      http: [{ route: [{ destination: { host: 'frontend', port: { number: 80 } } }] }],
    });
    const web = [
      { name: 'http', number: 80, protocol: 'HTTP' },
      { name: 'https', number: 443, protocol: 'HTTPS' },
    ];
    expect(one(objs, 'ServiceEntry', 'currency-provider-external').spec).toMatchObject({
      hosts: ['www.ecb.europa.eu'],
      ports: web,
    });
    expect(one(objs, 'ServiceEntry', 'whitelist-egress-googleapis').spec).toMatchObject({
      hosts: ['accounts.google.com', '*.googleapis.com'],
      ports: web,
    });
    expect(one(objs, 'ServiceEntry', 'whitelist-egress-google-metadata').spec).toMatchObject({
      hosts: ['metadata.google.internal'],
      addresses: ['169.254.169.254'],
      ports: web,
    });
  });
});

describe('Online Boutique beyond upstream', () => {
  test('zero trust from the call graph: gRPC by service or method, Redis by port, the frontend by method', () => {
    const rules = (n: string) =>
      (one(objs, 'AuthorizationPolicy', `${n}-viewer`).spec as { rules: unknown }).rules;
    expect(rules('redis-cart')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/cartservice'] } }],
        to: [{ operation: { ports: ['6379'] } }],
      },
    ]);
    expect(rules('productcatalogservice')).toStrictEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/frontend'] } }],
        to: [{ operation: { paths: ['/hipstershop.ProductCatalogService/*'] } }],
      },
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/checkoutservice'] } }],
        to: [{ operation: { paths: ['/hipstershop.ProductCatalogService/GetProduct'] } }],
      },
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/recommendationservice'] } }],
        to: [{ operation: { paths: ['/hipstershop.ProductCatalogService/ListProducts'] } }],
      },
    ]);
    expect(rules('frontend')).toStrictEqual([
      {
        from: [
          {
            source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] },
          },
        ],
      },
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/loadgenerator'] } }],
        to: [{ operation: { methods: ['GET', 'POST'] } }],
      },
    ]);
  });

  test('egress: REGISTRY_ONLY in the namespace Sidecar; the frontend autoscales on CPU', () => {
    expect(one(objs, 'Sidecar', 'default').spec).toStrictEqual({
      egress: [{ hosts: ['./*', 'istio-system/*'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    });
    expect(one(objs, 'HorizontalPodAutoscaler', 'frontend-v1').spec).toMatchObject({
      minReplicas: 1,
      maxReplicas: 3,
    });
  });

  test('the whole-mesh validator finds no error', () => {
    const errors = validator.validate(mesh.model()).filter((f) => f.severity === 'error');
    expect(errors.map((f) => `${f.code} ${f.message}`)).toStrictEqual([]);
  });

  test('with the canary: productcatalogservice v1 and v2, a CanaryRelease on its route', () => {
    const b = boutiqueWithCanary(Testing.app(), 'boutique');
    const all = Testing.synth(b.mesh) as K8sObject[];
    expect(one(all, 'CanaryRelease', 'productcatalogservice').spec).toMatchObject({
      service: 'productcatalogservice',
      stable: { subset: 'v1', deployment: 'productcatalogservice-v1' },
      canary: { subset: 'v2', deployment: 'productcatalogservice-v2' },
    });
    expect(
      all
        .filter((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('productcatalogservice'))
        .map((o) => o.metadata.name),
    ).toStrictEqual(['productcatalogservice-v1', 'productcatalogservice-v2']);
  });
});

test('the picture in docs/boutique.md (docs/boutique-graph.svg) is what cdk8s-mesh graph draws of the synthesized YAML: npx tsx scripts/boutique-graph.ts', async () => {
  const svg = await boutiqueGraph();
  // Drawn with the call graph file: the 15 declared calls between Services and the load generator's
  // (a Client, drawn as a caller box) are declared arrows (and the legend's one); without the file
  // there would be none.
  expect(svg.match(/marker-end="url\(#arrow-declared\)"/g)).toHaveLength(17);
  expect(svg).toContain('<g data-node="client:default/loadgenerator" data-kind="client">');
  expect(readFileSync(BOUTIQUE_GRAPH_FILE, 'utf8')).toBe(svg);
  // Synth, the call graph and the ELK layout take seconds on a loaded machine: more than Jest's 5 s default.
}, 60_000);
